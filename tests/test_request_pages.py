"""The request pages' forms: bad values answer 422 with the message and store nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.settings import Settings
from tests.test_requests import GOOD_CSV, LAMBETH, LOWER_MARSH
from tests.walks import auth, walk_with_route

FORM = {
    "kind": "lighting",
    "title": "Lamp out on Lower Marsh",
    "partner_borough": LAMBETH,
    "partner_team": "Street lighting",
    "lon": str(LOWER_MARSH[0]),
    "lat": str(LOWER_MARSH[1]),
}


def _count(settings: Settings) -> int:
    engine = create_engine(settings.database_url or "")
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM partner_requests")).scalar_one()
    engine.dispose()
    return int(n)


def test_the_form_refuses_bad_values_and_stores_nothing(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    """Each missing or wrong field is named beside it; no place, no council: 422."""
    officer = people["waterloo"]
    page = client.get("/lighting/requests/new", headers=officer)
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    for field, bad, message in (
        ("kind", "lamps", "Choose what kind of fix"),
        ("title", "", "Say in a few words"),
        ("partner_borough", "Narnia", "Choose the council"),
        ("partner_team", "", "Name the council&#39;s team"),
        ("lon", "", "Tap the map"),
        ("lon", "-1.5", "outside the wards"),
    ):
        answer = client.post("/lighting/requests/new", headers=officer,
                             data={**FORM, field: bad}, follow_redirects=False)
        assert answer.status_code == 422, (field, answer.text[:300])
        assert message in answer.text, (field, message)
    assert _count(app_settings) == 0
    ok = client.post("/lighting/requests/new", headers=officer, data=FORM, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].endswith("?done=raised")
    shown = client.get(ok.headers["location"], headers=officer).text
    assert "Request raised" in shown and "Lamp out on Lower Marsh" in shown
    assert _count(app_settings) == 1


def test_who_reaches_the_pages(
    client: TestClient, people: dict, issue_token: Callable[..., str]
) -> None:
    """Signed out: sent to sign in. The public's token and partners may not raise one."""
    out = client.get("/lighting/requests", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login?next=/lighting/requests"
    assert client.get("/lighting/requests/new", headers=people["partner"]).status_code == 403
    refused = client.post("/lighting/requests/new", headers=people["partner"], data=FORM)
    assert refused.status_code == 403
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    listed = client.get("/lighting/requests", headers=planner)
    assert listed.status_code == 200 and "Import requests" in listed.text
    assert "Import requests" not in client.get("/lighting/requests", headers=people["partner"]).text


def test_the_status_form_is_the_partners_and_says_what_to_fix(
    client: TestClient, people: dict
) -> None:
    """A move not allowed, or installed without a date: 422 with the message; then it moves."""
    raised = client.post("/lighting/requests/new", headers=people["waterloo"], data=FORM,
                         follow_redirects=False).headers["location"].split("?")[0]
    officer_view = client.get(raised, headers=people["waterloo"]).text
    assert "Change the status" not in officer_view
    partner_view = client.get(raised, headers=people["partner"]).text
    assert "Change the status" in partner_view and "fewer than 10 reports" in partner_view
    url = f"{raised}/status"
    assert client.post(url, headers=people["waterloo"], data={"status": "sent"}).status_code == 403
    no_date = client.post(url, headers=people["partner"], data={"status": "installed"})
    assert no_date.status_code == 422 and "Give the date it was installed" in no_date.text
    bad_date = client.post(url, headers=people["partner"],
                           data={"status": "installed", "installed_on": "20/11/2026"})
    assert bad_date.status_code == 422 and "as a date" in bad_date.text
    moved = client.post(url, headers=people["partner"], data={"status": "accepted"},
                        follow_redirects=False)
    assert moved.status_code == 303
    back = client.post(url, headers=people["partner"], data={"status": "sent"})
    assert back.status_code == 422 and "cannot become &#39;sent&#39;" in back.text
    assert "Accepted" in client.get(raised, headers=people["waterloo"]).text


def test_the_import_form_names_each_bad_row(
    client: TestClient, issue_token: Callable[..., str], app_settings: Settings
) -> None:
    """A planner's file with a bad row: the list again, the line named, nothing stored."""
    planner = auth(issue_token("planner", boroughs=[LAMBETH]))
    bad = GOOD_CSV.replace("E09000022", "Gotham")
    refused = client.post("/lighting/requests/import", headers=planner,
                          files={"file": ("bad.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422
    assert "Line 3: partner_borough &#39;Gotham&#39; is not a borough" in refused.text
    assert _count(app_settings) == 0
    empty = client.post("/lighting/requests/import", headers=planner, data={"csrf_token": ""})
    assert empty.status_code == 422 and "Choose a CSV or GeoJSON file" in empty.text
    ok = client.post("/lighting/requests/import", headers=planner,
                     files={"file": ("good.csv", GOOD_CSV.encode(), "text/csv")},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert "3 requests stored" in client.get(ok.headers["location"], headers=planner).text


def test_the_walks_page_offers_a_fix_per_concern_and_shows_what_became_of_it(
    client: TestClient, people: dict
) -> None:
    """One click from a concern to a prefilled form; the raised request listed on the walk."""
    walk = walk_with_route(client, people)
    sent = client.post(
        f"/walks/{walk['id']}/concerns", headers=people["waterloo"],
        json={"lon": -0.1100, "lat": 51.5074, "categories": ["poor_lighting"], "note": "Unlit"},
    )  # fmt: skip
    assert sent.status_code == 201
    walk_page = client.get(f"/work/walks/{walk['id']}", headers=people["waterloo"]).text
    link = walk_page.split('href="/lighting/requests/new?concern=')[1].split('"')[0]
    form = client.get(f"/lighting/requests/new?concern={link}", headers=people["waterloo"]).text
    assert '<option value="lighting" selected>' in form
    assert "Poor or no street lighting, noted on a walk" in form
    # Another ward's officer may not raise from it.
    other = client.get(f"/lighting/requests/new?concern={link}", headers=people["bankside"])
    assert other.status_code == 403
    done = client.post(
        "/lighting/requests/new", headers=people["waterloo"], follow_redirects=False,
        data={"concern": link, "kind": "lighting", "title": "Unlit stretch",
              "partner_borough": LAMBETH, "partner_team": "Street lighting"},
    )  # fmt: skip
    assert done.status_code == 303, done.text[:500]
    # Moved to a nearby public place (away from where she starts or ends): stored there.
    moved = client.post(
        "/lighting/requests/new", headers=people["waterloo"], follow_redirects=False,
        data={"concern": link, "kind": "lighting", "title": "Moved", "partner_borough": LAMBETH,
              "partner_team": "Street lighting", "lon": "-0.1136", "lat": "51.4995"},
    )  # fmt: skip
    assert moved.status_code == 303, moved.text[:500]
    where = client.get("/requests", headers=people["waterloo"]).json()["features"]
    places = {f["properties"]["title"]: f["geometry"]["coordinates"] for f in where}
    assert places["Moved"] == [-0.1136, 51.4995]
    assert places["Unlit stretch"] == [-0.11, 51.5074]
    walk_page = client.get(f"/work/walks/{walk['id']}", headers=people["waterloo"]).text
    assert "Requests to partners raised from this walk" in walk_page
    assert "Unlit stretch" in walk_page and ">Proposed<" in walk_page
