"""``POST /imports``: supervisors import a CSV or GeoJSON of reports, as the CLI does."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, UploadFile

from service.auth import Allow, Principal, Role
from service.db import SessionDep
from service.errors import PayloadTooLarge
from service.queries import audit
from service.queries import imports as queries

router = APIRouter(tags=["reports"])
# Uploads are read whole (imports are all-or-nothing); beyond this, use the command line.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@router.post("/imports", operation_id="import_reports", status_code=201)
def import_reports(
    session: SessionDep,
    principal: Annotated[Principal, Depends(Allow(Role.supervisor))],
    file: UploadFile,
    skip_invalid: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Import a file of reports whole, or nothing with every bad row named (422).

    With ``skip_invalid`` the good rows are stored, the bad ones counted per kind of problem
    and the first of each kind listed in the answer. A file imported before adds nothing.
    """
    # A plain def reading the spooled upload: the import's database work stays off the loop.
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            "uploads are limited to 200 MB: use `walktalk reports import FILE` for larger files"
        )
    outcome = queries.import_reports(
        session,
        data,
        # Only the name's last part is kept: a browser's or script's path is not ours.
        PurePath(file.filename or "upload.csv").name or "upload.csv",
        imported_by=principal.name,
        skip_invalid=skip_invalid,
    )
    audit.record(session, principal, "import reports", f"{outcome.file_name}: {outcome.stored}")
    session.commit()
    return {
        "file": outcome.file_name,
        "already_imported": outcome.already_imported,
        "stored": outcome.stored,
        # The first rows of each kind of problem, and the counts: a small answer however
        # many rows were bad.
        "skipped": [{"line": p.line, "reason": p.reason} for p in outcome.rejected],
        "skipped_rows": outcome.skipped,
        "skipped_kinds": [{"kind": kind, "rows": rows} for kind, rows in outcome.kinds],
    }
