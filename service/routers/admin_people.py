"""Supervisors' pages: officers, sign-in tokens and imports (``/admin/...``).

Thin routes over the same rules as the JSON API: the officers and tokens a supervisor sees and
changes are those of her boroughs (``policy.require_boroughs``), a token's scope is resolved by
``queries.tokens.resolve_scope`` and an upload is imported by ``queries.imports``. A token's
secret appears once, on the answer to the form that issued it, never cached and never logged.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from service import policy
from service.auth import EVERYONE, Allow, Principal, Role
from service.db import SessionDep
from service.errors import Forbidden, InvalidInput, WalkTalkError
from service.queries import audit, officers
from service.queries import imports as import_queries
from service.queries import tokens as token_queries
from service.queries import walks as walk_queries
from service.queries.participation import ward_choices
from service.queries.wards import borough_codes
from service.routers.imports import MAX_UPLOAD_BYTES
from service.web import page, see_other

router = APIRouter(tags=["admin"], include_in_schema=False)
# Pages take anyone so a signed-out supervisor is sent to sign in; others are refused inside.
Anyone = Annotated[Principal, Depends(Allow(*EVERYONE))]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

#: The expiry choices of the token form: (value for ``parse_expiry``, label).
EXPIRIES = [
    ("1d", "1 day"),
    ("7d", "1 week"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("180d", "6 months"),
    ("365d", "1 year"),
]
TOKEN_ROLES = {
    "officer": "Ward officer",
    "supervisor": "Supervisor",
    "partner": "Partner (council)",
    "planner": "Planner",
}
IMPORT_KINDS = {
    "reports": "Reports of places people feel unsafe (CSV or GeoJSON, as the report form stores)",
    "crimes": "police.uk street crimes (bulk CSV or API JSON)",
}


def _supervisor_or_sign_in(principal: Principal, path: str) -> Response | None:
    """Send a signed-out person to sign in; refuse anyone but a supervisor."""
    if principal.is_public:
        return see_other(f"/login?next={path}")
    if principal.role is not Role.supervisor:
        raise Forbidden("these pages are for supervisors only")
    return None


def _my_wards(session: SessionDep, principal: Principal) -> list[tuple[str, list[Any]]]:
    """The active set's wards of the supervisor's boroughs, grouped by borough."""
    groups = []
    for borough, wards in ward_choices(session):
        mine = [w for w in wards if w.borough_code in principal.borough_codes]
        if mine:
            groups.append((borough, mine))
    return groups


def _ward_names(session: SessionDep) -> dict[str, str]:
    """The active set's ward names by code, for lists that would otherwise show codes."""
    return {w.code: w.name for _, wards in ward_choices(session) for w in wards}


def _wards_chosen(
    session: SessionDep, principal: Principal, chosen: list[str], errors: dict[str, str]
) -> None:
    """Check the ward boxes ticked: at least one, each a ward of her boroughs."""
    allowed = {w.code for _, wards in _my_wards(session, principal) for w in wards}
    if not chosen:
        errors["wards"] = "Choose at least one ward she works in"
    elif set(chosen) - allowed:
        errors["wards"] = "Choose wards from the list: only wards of your boroughs can be given"


# --- officers -----------------------------------------------------------------------------


def _officers_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "admin_officers.html",
        principal,
        borough_names=borough_codes(session),
        title="Officers",
        status_code=status_code,
        rows=officers.list_in_boroughs(session, principal.borough_codes),
        groups=_my_wards(session, principal),
        values=values or {"wards": []},
        errors=errors or {},
    )


@router.get("/admin/officers", response_class=HTMLResponse, response_model=None)
def admin_officers(request: Request, session: SessionDep, principal: Anyone) -> Response:
    """The officers of the supervisor's boroughs, and the form to register one."""
    if (gone := _supervisor_or_sign_in(principal, "/admin/officers")) is not None:
        return gone
    return _officers_page(request, session, principal)


@router.post("/admin/officers", response_class=HTMLResponse, response_model=None)
def register_officer(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    name: FormText = "",
    shoulder_number: FormText = "",
    wards: FormList = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """Register an officer from the form; a wrong value answers the form again (422)."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors register officers")
    values: dict[str, Any] = {
        "name": name.strip(),
        "shoulder_number": shoulder_number.strip(),
        "wards": wards,
    }
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter the officer's name, for example PC Jane Smith"
    elif len(values["name"]) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    if not values["shoulder_number"]:
        errors["shoulder_number"] = "Enter her shoulder number, for example 1234AS"
    elif len(values["shoulder_number"]) > 20:
        errors["shoulder_number"] = "A shoulder number is 20 characters or fewer"
    _wards_chosen(session, principal, values["wards"], errors)
    if not errors:
        try:
            unit = officers.command_unit_of(session, values["wards"])
            officer = walk_queries.create_officer(
                session,
                name=values["name"],
                shoulder_number=values["shoulder_number"],
                ward_codes=values["wards"],
                command_unit=unit,
            )
        except InvalidInput as exc:
            session.rollback()
            errors["shoulder_number"] = str(exc)
    if errors:
        return _officers_page(
            request, session, principal, values=values, errors=errors, status_code=422
        )
    audit.record(session, principal, "create officer", str(officer["id"]))
    session.commit()
    return see_other(f"/admin/officers/{officer['id']}?done=registered")


def _officer_in_scope(
    session: SessionDep, principal: Principal, officer_id: uuid.UUID
) -> dict[str, Any]:
    officer = officers.get(session, officer_id)
    policy.require_boroughs(principal, officer["borough_codes"], "that officer")
    return officer


def _officer_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    officer: dict[str, Any],
    *,
    chosen: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tokens = [
        t
        for t in token_queries.list_tokens(session, within=principal.borough_codes)
        if t.officer_id == officer["id"]
    ]
    return page(
        request,
        "admin_officer.html",
        principal,
        borough_names=borough_codes(session),
        title=f"{officer['name']} ({officer['shoulder_number']})",
        back=("/admin/officers", "All officers"),
        status_code=status_code,
        officer=officer,
        groups=_my_wards(session, principal),
        chosen=officer["ward_codes"] if chosen is None else chosen,
        tokens=tokens,
        done=request.query_params.get("done"),
        errors=errors or {},
    )


@router.get("/admin/officers/{officer_id}", response_class=HTMLResponse, response_model=None)
def admin_officer(
    request: Request, session: SessionDep, principal: Anyone, officer_id: uuid.UUID
) -> Response:
    """One officer: her wards, her tokens, deactivate or reactivate her."""
    if (gone := _supervisor_or_sign_in(principal, f"/admin/officers/{officer_id}")) is not None:
        return gone
    officer = _officer_in_scope(session, principal, officer_id)
    return _officer_page(request, session, principal, officer)


@router.post("/admin/officers/{officer_id}", response_class=HTMLResponse, response_model=None)
def change_officer(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    officer_id: uuid.UUID,
    action: FormText = "",
    wards: FormList = [],  # noqa: B006 (FastAPI copies defaults)
    confirm: FormText = "",
) -> Response:
    """Change her wards, deactivate (confirmed) or reactivate her, as the button says."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors change officers")
    officer = _officer_in_scope(session, principal, officer_id)
    errors: dict[str, str] = {}
    if action == "wards":
        chosen = wards
        _wards_chosen(session, principal, chosen, errors)
        if errors:
            return _officer_page(
                request, session, principal, officer, chosen=chosen, errors=errors,
                status_code=422,
            )
        officers.set_wards(session, officer_id, chosen)
        audit.record(session, principal, "change officer wards", str(officer_id))
    elif action == "deactivate":
        if confirm != "yes":
            errors["confirm"] = "Tick the box to confirm you want to deactivate her"
            return _officer_page(
                request, session, principal, officer, errors=errors, status_code=422
            )
        revoked = officers.deactivate(session, officer_id)
        audit.record(session, principal, "deactivate officer", f"{officer_id} {revoked} tokens")
    elif action == "reactivate":
        officers.reactivate(session, officer_id)
        audit.record(session, principal, "reactivate officer", str(officer_id))
    else:
        raise InvalidInput("choose an action: wards, deactivate or reactivate")
    session.commit()
    return see_other(f"/admin/officers/{officer_id}?done={action}")


# --- tokens -------------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    listed = token_queries.list_tokens(session, within=principal.borough_codes)
    people = officers.list_in_boroughs(session, principal.borough_codes)
    return page(
        request,
        "admin_tokens.html",
        principal,
        ward_names=_ward_names(session),
        borough_names=borough_codes(session),
        title="Sign-in tokens",
        status_code=status_code,
        tokens=listed,
        officers=[o for o in people if o["deactivated_at"] is None],
        officer_names={o["id"]: o["name"] for o in people},
        groups=_my_wards(session, principal),
        boroughs=sorted({(w.borough_code, b) for b, ws in _my_wards(session, principal)
                         for w in ws}, key=lambda x: x[1]),
        roles=TOKEN_ROLES,
        expiries=EXPIRIES,
        values=values,
        done=request.query_params.get("done"),
        errors=errors or {},
    )


@router.get("/admin/tokens", response_class=HTMLResponse, response_model=None)
def admin_tokens(request: Request, session: SessionDep, principal: Anyone) -> Response:
    """The tokens of the supervisor's boroughs and the form to issue one.

    ``?officer=ID`` fills the form for that officer (her name, role officer, her wards).
    """
    if (gone := _supervisor_or_sign_in(principal, "/admin/tokens")) is not None:
        return gone
    values: dict[str, Any] = {"role": "officer", "expires": "90d", "wards": [], "boroughs": []}
    wanted = request.query_params.get("officer")
    if wanted:
        try:
            officer = _officer_in_scope(session, principal, uuid.UUID(wanted))
        except ValueError:
            raise InvalidInput("that officer link is broken: choose her from Officers") from None
        values |= {
            "name": officer["name"],
            "wards": officer["ward_codes"],
            "officer_id": str(officer["id"]),
        }
    return _tokens_page(request, session, principal, values=values)


@router.post("/admin/tokens", response_class=HTMLResponse, response_model=None)
def issue_token(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    name: FormText = "",
    role: FormText = "",
    expires: FormText = "",
    wards: FormList = [],  # noqa: B006 (FastAPI copies defaults)
    boroughs: FormList = [],  # noqa: B006
    officer_id: FormText = "",
) -> Response:
    """Issue a token; the answer shows its secret once and is never cached."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors issue tokens")
    values: dict[str, Any] = {
        "name": name.strip(),
        "role": role.strip(),
        "expires": expires.strip(),
        "wards": wards,
        "boroughs": boroughs,
        "officer_id": officer_id.strip(),
    }
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter who will hold the token, for example PC Jane Smith"
    elif len(values["name"]) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    if values["role"] not in TOKEN_ROLES:
        errors["role"] = "Choose what the holder does: officer, supervisor, partner or planner"
    if values["expires"] not in dict(EXPIRIES):
        errors["expires"] = "Choose how long the token lasts, from 1 day to 1 year"
    chosen_role = Role(values["role"]) if values["role"] in TOKEN_ROLES else None
    officer: uuid.UUID | None = None
    if chosen_role is Role.officer:
        _wards_chosen(session, principal, values["wards"], errors)
        if values["officer_id"]:
            try:
                officer = uuid.UUID(values["officer_id"])
            except ValueError:
                errors["officer_id"] = "Choose her officer record from the list"
    elif chosen_role is not None:
        mine = set(principal.borough_codes)
        if not values["boroughs"]:
            errors["boroughs"] = "Choose at least one borough the holder works in"
        elif set(values["boroughs"]) - mine:
            errors["boroughs"] = "Choose boroughs from the list: only your boroughs can be given"
    if not errors and chosen_role is not None:
        try:
            scope = token_queries.resolve_scope(
                session,
                chosen_role,
                wards=values["wards"] if chosen_role is Role.officer else [],
                boroughs=values["boroughs"] if chosen_role is not Role.officer else [],
            )
            policy.require_boroughs(principal, scope.borough_codes, "that token's scope")
            if officer is not None:
                policy.require_boroughs(
                    principal, officers.get(session, officer)["borough_codes"], "that officer"
                )
                officers.check_token_officer(session, officer, scope.ward_codes)
            info, raw = token_queries.create_token(
                session,
                key=request.app.state.secret_key,
                role=chosen_role,
                name=values["name"],
                scope=scope,
                expires_at=token_queries.parse_expiry(values["expires"]),
                created_by=principal.name,
                officer_id=officer,
            )
        except InvalidInput as exc:
            session.rollback()
            errors["officer_id" if officer is not None else "name"] = str(exc)
    if errors:
        return _tokens_page(
            request, session, principal, values=values, errors=errors, status_code=422
        )
    audit.record(session, principal, "create token", f"{info.id} {info.role} {info.name}")
    session.commit()
    answer = page(
        request,
        "admin_token_issued.html",
        principal,
        ward_names=_ward_names(session),
        borough_names=borough_codes(session),
        title="Token issued",
        back=("/admin/tokens", "All tokens"),
        token=info,
        secret=raw,
        roles=TOKEN_ROLES,
    )
    # The secret is in this answer only: no cache, proxy or back button may keep it.
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["Pragma"] = "no-cache"
    return answer


@router.post(
    "/admin/tokens/{token_id}/revoke", response_class=HTMLResponse, response_model=None
)
def revoke_token(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    token_id: uuid.UUID,
    confirm: FormText = "",
) -> Response:
    """Revoke a token once the box is ticked; its browser sessions end at once."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors revoke tokens")
    info = token_queries.get_token(session, token_id)
    policy.require_boroughs(principal, info.borough_codes, "that token's scope")
    if confirm != "yes":
        return _tokens_page(
            request,
            session,
            principal,
            values={"role": "officer", "expires": "90d", "wards": [], "boroughs": []},
            errors={f"confirm-{token_id}": f"Tick the box to confirm revoking {info.name}'s token"},
            status_code=422,
        )
    token_queries.revoke_token(session, token_id)
    audit.record(session, principal, "revoke token", f"{info.id} {info.name}")
    session.commit()
    return see_other("/admin/tokens?done=revoked")


# --- imports ------------------------------------------------------------------------------


def _imports_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "admin_imports.html",
        principal,
        title="Imports",
        status_code=status_code,
        past=officers.list_imports(session),
        kinds=IMPORT_KINDS,
        values=values or {"kind": "reports"},
        errors=errors or {},
        problems=problems or [],
    )


@router.get("/admin/imports", response_class=HTMLResponse, response_model=None)
def admin_imports(request: Request, session: SessionDep, principal: Anyone) -> Response:
    """Upload a file of reports or police.uk crimes; the past imports."""
    if (gone := _supervisor_or_sign_in(principal, "/admin/imports")) is not None:
        return gone
    return _imports_page(request, session, principal)


@router.post("/admin/imports", response_class=HTMLResponse, response_model=None)
def upload_import(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    kind: FormText = "",
    skip_invalid: FormText = "",
    upload: Annotated[UploadFile | None, File(alias="file")] = None,
) -> Response:
    """Import the uploaded file whole; bad rows answer the form with the importer's words."""
    if principal.role is not Role.supervisor:
        raise Forbidden("only supervisors import files")
    skip = skip_invalid == "yes"
    values = {"kind": kind, "skip_invalid": skip}
    errors: dict[str, str] = {}
    if kind not in IMPORT_KINDS:
        errors["kind"] = "Choose what the file holds: reports or police.uk crimes"
    if upload is None or not upload.filename:
        errors["file"] = "Choose a file to upload (CSV, GeoJSON or police.uk JSON)"
        data = b""
    else:
        # A plain def reading the spooled upload: the import's database work stays off the loop.
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if not data:
            errors["file"] = f"{upload.filename} is empty: choose the file with the rows in it"
        elif len(data) > MAX_UPLOAD_BYTES:
            errors["file"] = "Files over 200 MB: use `walktalk reports import FILE` instead"
    problems: list[Any] = []
    if not errors and upload is not None:
        name = Path(upload.filename or "upload.csv").name
        try:
            outcome = _import(session, kind, data, name, principal.name, skip)
        except import_queries.ImportRefused as exc:
            session.rollback()
            errors["file"] = str(exc).replace(
                "import with --skip-invalid", 'tick "Store the good rows"'
            ).replace(", and with --rejects FILE to list every bad row", "")
            problems = exc.problems
        except (InvalidInput, WalkTalkError) as exc:
            session.rollback()
            errors["file"] = str(exc)
    if errors:
        return _imports_page(
            request, session, principal, values=values, errors=errors, problems=problems,
            status_code=422,
        )
    audit.record(session, principal, "import reports", f"{outcome.file_name}: {outcome.stored}")
    session.commit()
    return page(
        request,
        "admin_import.html",
        principal,
        title=f"Imported {outcome.file_name}",
        back=("/admin/imports", "All imports"),
        outcome=outcome,
        record=officers.latest_import(session, kind, outcome.file_name),
        just_now=True,
    )


def _import(
    session: SessionDep, kind: str, data: bytes, name: str, by: str, skip: bool
) -> import_queries.ImportOutcome:
    """Import ``data`` as its kind: reports from bytes, crimes from a file as the CLI reads."""
    if kind == "reports":
        return import_queries.import_reports(
            session, data, name, imported_by=by, skip_invalid=skip
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return import_queries.import_crimes(session, path, imported_by=by)


@router.get("/admin/imports/{import_id}", response_class=HTMLResponse, response_model=None)
def admin_import(
    request: Request, session: SessionDep, principal: Anyone, import_id: int
) -> Response:
    """One past import: what it stored and skipped, when and by whom."""
    if (gone := _supervisor_or_sign_in(principal, f"/admin/imports/{import_id}")) is not None:
        return gone
    record = officers.get_import(session, import_id)
    return page(
        request,
        "admin_import.html",
        principal,
        title=f"Import of {record['file_name']}",
        back=("/admin/imports", "All imports"),
        outcome=None,
        record=record,
        just_now=False,
    )
