"""Alembic environment: runs on a connection handed over by ``service.db.migrate``."""

from alembic import context
from geoalchemy2 import alembic_helpers

from service.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # GeoAlchemy2's helpers keep autogenerate from fighting PostGIS's own tables and render
    # Geometry columns with their imports.
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
