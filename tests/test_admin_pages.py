"""The supervisors' pages for officers, tokens and imports, through the app (TestClient).

Forms are posted as a browser posts them (urlencoded or multipart, with a bearer token
standing in for the signed-in session): bad values answer the form again (422) and store
nothing; a supervisor sees and changes only her own boroughs' officers and tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.walks import WATERLOO

BANKSIDE = "E05011095"
CITY_CSV = (
    Path(__file__).parents[1]
    / "data/police_uk/city_of_london_police_2019/2019-01-city-of-london-street.csv"
)


def auth(token: str) -> dict[str, str]:
    """Bearer headers."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sql(app_settings: Settings) -> Iterator[Callable[..., Any]]:
    """Run one statement against the app's database and return its first value."""
    engine = create_engine(app_settings.database_url or "")

    def run(statement: str, **params: Any) -> Any:
        with engine.begin() as conn:
            return conn.execute(text(statement), params).scalar()

    yield run
    engine.dispose()


def _register(client: TestClient, headers: dict[str, str], number: str, wards: list[str]) -> Any:
    return client.post(
        "/admin/officers",
        headers=headers,
        data={"name": "PC Rose Field", "shoulder_number": number, "wards": wards},
        follow_redirects=False,
    )


def test_registering_an_officer_and_bad_values(
    client: TestClient, people: dict[str, dict[str, str]], sql: Callable[..., Any]
) -> None:
    """A good form registers her (303 to her page); each bad value answers 422, stores nothing."""
    before = sql("SELECT count(*) FROM officers")
    for data, message in [
        ({"name": "", "shoulder_number": "11AS", "wards": [WATERLOO]}, "Enter the officer"),
        ({"name": "PC A", "shoulder_number": "", "wards": [WATERLOO]}, "Enter her shoulder"),
        ({"name": "PC A", "shoulder_number": "11AS"}, "Choose at least one ward"),
        # Westminster's ward: outside the AS supervisor's boroughs.
        ({"name": "PC A", "shoulder_number": "11AS", "wards": ["E05013806"]}, "your boroughs"),
        ({"name": "PC A", "shoulder_number": "x" * 21, "wards": [WATERLOO]}, "20 characters"),
    ]:
        answer = client.post("/admin/officers", headers=people["supervisor"], data=data)
        assert answer.status_code == 422, data
        assert 'class="error-summary"' in answer.text and message in answer.text, data
        assert sql("SELECT count(*) FROM officers") == before
    made = _register(client, people["supervisor"], "4711AS", [WATERLOO, BANKSIDE])
    assert made.status_code == 303
    assert re.fullmatch(r"/admin/officers/[0-9a-f-]{36}\?done=registered", made.headers["location"])
    assert sql("SELECT command_unit FROM officers WHERE shoulder_number = '4711AS'") == "AS"
    page = client.get(made.headers["location"], headers=people["supervisor"])
    assert "Officer registered" in page.text and "Issue a sign-in token for her" in page.text
    again = _register(client, people["supervisor"], "4711AS", [WATERLOO])
    assert again.status_code == 422 and "already registered" in again.text
    listed = client.get("/admin/officers", headers=people["supervisor"])
    assert "PC Rose Field" in listed.text and "4711AS" in listed.text


def test_other_boroughs_and_roles_cannot_see_or_change_officers(
    client: TestClient,
    people: dict[str, dict[str, str]],
    issue_token: Callable[..., str],
    sql: Callable[..., Any],
) -> None:
    """A supervisor of another command unit, an officer and a partner are refused."""
    made = _register(client, people["supervisor"], "4712AS", [WATERLOO])
    path = made.headers["location"].split("?")[0]
    other = auth(issue_token("supervisor", boroughs=["E09000033"]))
    assert "4712AS" not in client.get("/admin/officers", headers=other).text
    assert client.get(path, headers=other).status_code == 403
    refused = client.post(path, headers=other, data={"action": "deactivate", "confirm": "yes"})
    assert refused.status_code == 403
    assert sql("SELECT deactivated_at FROM officers WHERE shoulder_number = '4712AS'") is None
    for who in ("waterloo", "partner"):
        assert client.get("/admin/officers", headers=people[who]).status_code == 403
        assert client.get("/admin/tokens", headers=people[who]).status_code == 403
    signed_out = client.get("/admin/officers", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=/admin/officers"


def test_change_wards_deactivate_revokes_tokens_and_walks_refuse_her(
    client: TestClient, people: dict[str, dict[str, str]], sql: Callable[..., Any]
) -> None:
    """Deactivating needs the box ticked; it revokes her tokens and planning refuses her."""
    path = _register(client, people["supervisor"], "4713AS", [WATERLOO]).headers["location"]
    path = path.split("?")[0]
    officer_id = path.rsplit("/", 1)[1]
    wards = client.post(path, headers=people["supervisor"], data={"action": "wards"})
    assert wards.status_code == 422 and "Choose at least one ward" in wards.text
    changed = client.post(
        path, headers=people["supervisor"], data={"action": "wards", "wards": [BANKSIDE]},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert sql("SELECT ward_codes FROM officers WHERE id = :id", id=officer_id) == [BANKSIDE]
    client.post(path, headers=people["supervisor"], data={"action": "wards", "wards": [WATERLOO]})
    issued = client.post(
        "/admin/tokens",
        headers=people["supervisor"],
        data={"name": "PC Rose", "role": "officer", "wards": [WATERLOO], "expires": "30d",
              "officer_id": officer_id},
    )
    assert issued.status_code == 200, issued.text
    secret = re.search(r'id="secret"[^>]*value="([^"]+)"', issued.text)
    assert secret is not None
    assert client.get("/work/requests", headers=auth(secret.group(1))).status_code == 200
    unconfirmed = client.post(path, headers=people["supervisor"], data={"action": "deactivate"})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    assert sql("SELECT deactivated_at FROM officers WHERE id = :id", id=officer_id) is None
    done = client.post(
        path, headers=people["supervisor"], data={"action": "deactivate", "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/work/requests", headers=auth(secret.group(1))).status_code == 401
    walk = client.post(
        "/walks",
        headers=people["supervisor"],
        json={"officer_id": officer_id, "kind": "patrol",
              "planned_start": "2026-11-20T18:00:00+00:00",
              "planned_end": "2026-11-20T20:00:00+00:00"},
    )
    assert walk.status_code == 422 and "deactivated" in walk.text
    client.post(path, headers=people["supervisor"], data={"action": "reactivate"})
    assert sql("SELECT deactivated_at FROM officers WHERE id = :id", id=officer_id) is None


def test_token_secret_shown_once_not_cached_and_revoke(
    client: TestClient, people: dict[str, dict[str, str]], sql: Callable[..., Any]
) -> None:
    """The secret is on the answer only (no-store), never on the list; revoking ends it."""
    before = sql("SELECT count(*) FROM api_tokens")
    for data, field in [
        ({"name": "", "role": "partner", "boroughs": ["E09000022"], "expires": "90d"}, "name"),
        ({"name": "A", "role": "public", "boroughs": ["E09000022"], "expires": "90d"}, "role"),
        ({"name": "A", "role": "partner", "boroughs": ["E09000022"], "expires": "900d"},
         "expires"),
        ({"name": "A", "role": "partner", "expires": "90d"}, "boroughs"),
        ({"name": "A", "role": "partner", "boroughs": ["E09000033"], "expires": "90d"},
         "boroughs"),
        ({"name": "A", "role": "officer", "expires": "90d"}, "wards"),
        ({"name": "A", "role": "officer", "wards": [WATERLOO], "expires": "90d",
          "officer_id": "not-an-id"}, "officer_id"),
    ]:
        answer = client.post("/admin/tokens", headers=people["supervisor"], data=data)
        assert answer.status_code == 422, data
        assert f'href="#{field}"' in answer.text, (data, answer.text[:2000])
        assert sql("SELECT count(*) FROM api_tokens") == before
    issued = client.post(
        "/admin/tokens",
        headers=people["supervisor"],
        data={"name": "Lambeth council analyst", "role": "partner", "boroughs": ["E09000022"],
              "expires": "7d"},
    )
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    assert "it will not be shown again" in issued.text
    secret = re.search(r'id="secret"[^>]*value="([^"]+)"', issued.text)
    assert secret is not None
    token = secret.group(1)
    listing = client.get("/admin/tokens", headers=people["supervisor"])
    assert "Lambeth council analyst" in listing.text and token not in listing.text
    assert client.get("/maps/wards/summary", headers=auth(token)).status_code == 200
    token_id = sql("SELECT id FROM api_tokens WHERE name = 'Lambeth council analyst'")
    unconfirmed = client.post(f"/admin/tokens/{token_id}/revoke", headers=people["supervisor"])
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    revoked = client.post(
        f"/admin/tokens/{token_id}/revoke", headers=people["supervisor"],
        data={"confirm": "yes"}, follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert client.get("/maps/wards/summary", headers=auth(token)).status_code == 401


def test_api_token_officer_id_is_checked_and_stored(
    client: TestClient, people: dict[str, dict[str, str]], sql: Callable[..., Any]
) -> None:
    """``POST /tokens`` takes ``officer_id``: her wards only, officer role only."""
    path = _register(client, people["supervisor"], "4714AS", [WATERLOO]).headers["location"]
    officer_id = path.split("?")[0].rsplit("/", 1)[1]
    body = {"role": "officer", "name": "PC Rose", "wards": [BANKSIDE], "officer_id": officer_id}
    wrong = client.post("/tokens", headers=people["supervisor"], json=body)
    assert wrong.status_code == 422 and "must be officer" in wrong.text
    partner = client.post(
        "/tokens", headers=people["supervisor"],
        json={"role": "partner", "name": "P", "boroughs": ["E09000022"], "officer_id": officer_id},
    )
    assert partner.status_code == 422
    good = client.post("/tokens", headers=people["supervisor"], json={**body, "wards": [WATERLOO]})
    assert good.status_code == 201 and good.json()["officer_id"] == officer_id
    stored = sql("SELECT officer_id FROM api_tokens WHERE id = :id", id=good.json()["id"])
    assert str(stored) == officer_id


def test_import_a_police_uk_csv_and_a_bad_file(
    client: TestClient, people: dict[str, dict[str, str]], sql: Callable[..., Any]
) -> None:
    """A police.uk CSV imports and its page says so; a bad reports file stores nothing (422)."""
    bad = b"lon,lat,categories,date,time_band\n-0.1136,51.5033,dark_alley,2026-11-02,evening\n"
    before = sql("SELECT count(*) FROM reports")
    refused = client.post(
        "/admin/imports", headers=people["supervisor"], data={"kind": "reports"},
        files={"file": ("bad.csv", bad, "text/csv")},
    )
    assert refused.status_code == 422
    assert "nothing stored" in refused.text and "dark_alley" in refused.text
    assert sql("SELECT count(*) FROM reports") == before
    empty = client.post("/admin/imports", headers=people["supervisor"], data={"kind": "crimes"})
    assert empty.status_code == 422 and "Choose a file" in empty.text
    crimes_before = sql("SELECT count(*) FROM crimes")
    done = client.post(
        "/admin/imports", headers=people["supervisor"], data={"kind": "crimes"},
        files={"file": (CITY_CSV.name, CITY_CSV.read_bytes(), "text/csv")},
    )
    assert done.status_code == 200, done.text
    stored = sql("SELECT count(*) FROM crimes") - crimes_before
    assert stored > 500 and f"{stored:,} rows stored" in done.text
    import_id = sql("SELECT id FROM imports WHERE file_name = :n", n=CITY_CSV.name)
    listing = client.get("/admin/imports", headers=people["supervisor"])
    assert f'href="/admin/imports/{import_id}"' in listing.text
    one = client.get(f"/admin/imports/{import_id}", headers=people["supervisor"])
    assert one.status_code == 200 and f"{stored:,}" in one.text
    assert client.post(
        "/admin/imports", headers=people["waterloo"], data={"kind": "crimes"}
    ).status_code == 403


def test_cli_tokens_create_takes_officer(walktalk: Callable[..., Any], fresh_db: str) -> None:
    """``walktalk tokens create --officer ID`` links the token to her record, checked."""
    engine = create_engine(fresh_db)
    with engine.begin() as conn:
        officer_id = conn.execute(
            text(
                "INSERT INTO officers (name, shoulder_number, ward_codes, borough_codes, "
                "command_unit) VALUES ('PC Cli', '77AS', :wards, :boroughs, 'AS') RETURNING id"
            ),
            {"wards": [WATERLOO], "boroughs": ["E09000022"]},
        ).scalar_one()
    args = ("tokens", "create", "--role", "officer", "--name", "PC Cli")
    code, _, err = walktalk(*args, "--ward", BANKSIDE, "--officer", str(officer_id))
    assert code == 1 and "must be officer PC Cli's wards" in err
    code, _, err = walktalk(*args, "--ward", WATERLOO, "--officer", "nobody")
    assert code == 1 and "not an officer id" in err
    code, out, err = walktalk(*args, "--ward", WATERLOO, "--officer", str(officer_id))
    assert code == 0 and out.strip().startswith("wt_"), err
    with engine.connect() as conn:
        linked = conn.execute(
            text("SELECT officer_id FROM api_tokens WHERE name = 'PC Cli'")
        ).scalar_one()
    engine.dispose()
    assert linked == officer_id
