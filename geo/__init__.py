"""Pure spatial logic on Shapely/GeoPandas: no database, no HTTP."""

# geo.grid adds the OSTN15 grid's folder to pyproj's search path. Importing it with the package
# does so before anything that uses geo/ builds a Transformer -- GeoPandas' to_crs on a
# National Grid ward file (boundaries.reading) included -- so no pyproj user in the process
# falls back to the Helmert approximation.
from geo import grid as grid
