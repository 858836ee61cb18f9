"""The planned-route briefing: who may see it, what it refuses, and that it tells the truth.

The page is read as an officer reads it: the text of the briefing panel, section by section,
and the map's layers. Its numbers are checked against ``POST /routes/exposure`` for the same
route, its sunset against the published almanac time, on a real PostGIS with the bundled
police.uk crimes.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from service.settings import Settings

PAGE = "/maps/routes/briefing"
WATERLOO, BOROUGH_BANKSIDE = "E05014118", "E05011095"
LAMBETH = "E09000022"
# Waterloo station, along the South Bank, to Borough Market: about 2.2 km through two wards.
ROUTE = {
    "type": "LineString",
    "coordinates": [
        [-0.1136, 51.5033],
        [-0.1150, 51.5055],
        [-0.1100, 51.5075],
        [-0.1030, 51.5080],
        [-0.0980, 51.5078],
        [-0.0930, 51.5068],
        [-0.0909, 51.5055],
    ],
}
CRIMES = (
    Path(__file__).parents[1]
    / "data"
    / "police_uk"
    / "api_trafalgar_square_1mile_2025-12"
    / "crimes_london.json"
)
D = "\N{EN DASH}"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _feature(**properties: object) -> dict:
    return {"type": "Feature", "geometry": ROUTE, "properties": properties}


@pytest.fixture
def people(client: TestClient, issue_token: Callable[..., str]) -> dict[str, dict[str, str]]:
    return {
        "officer": _auth(issue_token("officer", wards=[WATERLOO])),
        "supervisor": _auth(issue_token("supervisor", command_unit="AS")),
        "partner": _auth(issue_token("partner", boroughs=[LAMBETH])),
        "planner": _auth(issue_token("planner", boroughs=[LAMBETH])),
        "public": {},
    }


# --- reading the page as a person does -----------------------------------------------------


def _text(fragment: str) -> str:
    """What a reader sees of some HTML: tags gone, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def panel(page: str) -> str:
    found = re.search(r'<aside class="briefing".*?</aside>', page, re.S)
    assert found, "no briefing panel in the page"
    return _text(found.group(0))


def section(page: str, heading_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, f"no section {heading_id} in the briefing"
    return _text(found.group(1))


def list_items(page: str, heading_id: str) -> list[str]:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, f"no section {heading_id} in the briefing"
    return [_text(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def sun_table(page: str) -> dict[str, str]:
    return {
        _text(name): _text(value)
        for name, value in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page, re.S)
    }


def minutes_apart(shown: str, published: str) -> int:
    h1, m1 = (int(x) for x in shown.split(":"))
    h2, m2 = (int(x) for x in published.split(":"))
    return abs((h1 * 60 + m1) - (h2 * 60 + m2))


def stretch_tooltips(page: str) -> list[str]:
    return [
        html.unescape(t)
        for t in re.findall(r"bindTooltip\(\s*`<div>\s*(metres .*?)\s*</div>`", page, re.S)
    ]


def layer_names(page: str) -> list[str]:
    block = re.search(r"overlays :\s*\{(.*?)\},", page, re.S)
    assert block, "no layer control in the page"
    return [json.loads(n) for n in re.findall(r'("(?:[^"\\]|\\.)*") :', block.group(1))]


def _problem(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422 and body["type"] == "/problems/invalid-input"
    return str(body["detail"])


# --- who may see it ------------------------------------------------------------------------


def test_the_planning_page_is_for_officers_and_supervisors(
    client: TestClient, people: dict
) -> None:
    for who in ("officer", "supervisor"):
        page = client.get(PAGE, headers=people[who])
        assert page.status_code == 200, (who, page.text)
        assert page.headers["content-type"].startswith("text/html")
        assert "Show briefing" in page.text and "Planned start (London time)" in page.text
        assert "L.Control.Draw" in page.text  # the line tool
    for who in ("partner", "planner"):
        refused = client.get(PAGE, headers=people[who])
        assert refused.status_code == 403, who
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert f"you are {who}" in refused.json()["detail"]
    public = client.get(PAGE, follow_redirects=False)
    assert public.status_code == 303
    assert public.headers["location"] == f"/login?next={PAGE}"


def test_the_briefing_is_for_officers_and_supervisors(client: TestClient, people: dict) -> None:
    body = _feature(planned_start="2026-12-03T17:00:00+00:00")
    for who in ("officer", "supervisor"):
        answer = client.post(PAGE, headers=people[who], json=body)
        assert answer.status_code == 200, (who, answer.text)
        assert answer.headers["content-type"].startswith("text/html")
        assert "Briefing for a planned walk" in panel(answer.text)
    for who in ("partner", "planner", "public"):
        refused = client.post(PAGE, headers=people[who], json=body)
        assert refused.status_code == 403, who
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_planning_page_opens_on_the_officers_own_ward(client: TestClient, people: dict) -> None:
    officer = client.get(PAGE, headers=people["officer"]).text
    wards = re.findall(r'"code": "(E05\d+)"', officer)
    assert set(wards) == {WATERLOO}
    supervisor = client.get(PAGE, headers=people["supervisor"]).text
    # Central South: every pilot ward of Lambeth and Southwark.
    assert len(set(re.findall(r'"code": "(E05\d+)"', supervisor))) == 48


# --- what it refuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-0.11, 51.5]},
                "properties": {"planned_start": "2026-12-03T17:00"},
            },
            "not a Point",
        ),
        (
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[-0.1136, 51.5033], [-0.1136, 51.5050]],
                },
                "properties": {"planned_start": "2026-12-03T17:00"},
            },
            "shorter than",
        ),
        (ROUTE, "properties carry planned_start"),
        (_feature(), "properties carry planned_start"),
        (_feature(planned_start="tomorrow evening"), "not an ISO 8601 time"),
        (_feature(planned_start=1764781200), "must be an ISO 8601 text"),
        (
            _feature(planned_start="2026-12-03T17:00", planned_end="2026-12-03T17:20"),
            "at least 30 minutes; this one is planned for 20",
        ),
        (
            _feature(planned_start="2026-12-03T17:00", planned_end="2026-12-03T16:00"),
            "at least 30 minutes; this one is planned for -60",
        ),
        # The clocks go forward at 01:00 GMT on 29 March 2026: 01:30 never happens.
        (_feature(planned_start="2026-03-29T01:30"), "does not exist in London"),
    ],
)
def test_bad_routes_and_times_are_refused_with_a_reason(
    client: TestClient, people: dict, body: dict, says: str
) -> None:
    detail = _problem(client.post(PAGE, headers=people["officer"], json=body))
    assert says in detail


def test_bad_bodies_and_distances_are_refused(client: TestClient, people: dict) -> None:
    officer = people["officer"]
    not_json = client.post(
        PAGE, headers={**officer, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert "GeoJSON Feature" in _problem(not_json)
    good = _feature(planned_start="2026-12-03T17:00")
    assert "within" in _problem(client.post(PAGE, headers=officer, params={"within": 0}, json=good))
    form = {"route": json.dumps(ROUTE), "planned_start": "2026-12-03T17:00", "minutes": "45"}
    assert "within must be" in _problem(
        client.post(PAGE, headers=officer, data={**form, "within": "900"})
    )
    assert "GeoJSON text" in _problem(
        client.post(PAGE, headers=officer, data={**form, "route": "a line along the river"})
    )
    assert "no planned_start" in _problem(
        client.post(PAGE, headers=officer, data={**form, "planned_start": ""})
    )
    assert "planned for 20" in _problem(
        client.post(PAGE, headers=officer, data={**form, "minutes": "20"})
    )
    assert "minutes must be a number" in _problem(
        client.post(PAGE, headers=officer, data={**form, "minutes": "forty"})
    )


# --- what it says --------------------------------------------------------------------------


def _sign_in(client: TestClient, token: str) -> None:
    """Sign the test client in at /login, as a browser does (the cookie stays in the client)."""
    form = client.get("/login").text
    fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', form))
    signed_in = client.post("/login", data={"token": token, **fields}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text


def _seed_crimes(app_settings: Settings) -> None:
    from service.queries.imports import import_crimes

    engine = create_engine(app_settings.database_url or "")
    with Session(engine) as session, session.begin():
        import_crimes(session, CRIMES, imported_by="tests")
    engine.dispose()


def _concern(client: TestClient, people: dict, **concern: object) -> None:
    """A walk concern raised on an earlier walk in Waterloo."""
    officer = client.post(
        "/officers",
        headers=people["supervisor"],
        json={
            "name": "PC Earlier",
            "shoulder_number": "AS501",
            "ward_codes": [WATERLOO],
            "command_unit": "AS",
        },
    )
    assert officer.status_code == 201, officer.text
    walk = client.post(
        "/walks",
        headers=people["officer"],
        json={
            "officer_id": officer.json()["id"],
            "kind": "patrol",
            "planned_start": "2025-11-20T17:30:00+00:00",
            "planned_end": "2025-11-20T18:15:00+00:00",
        },
    )
    assert walk.status_code == 201, walk.text
    added = client.post(
        f"/walks/{walk.json()['id']}/concerns", headers=people["officer"], json=concern
    )
    assert added.status_code == 201, added.text


def _published_report(client: TestClient, people: dict, lon: float, lat: float) -> None:
    sent = client.post(
        "/reports",
        json={
            "lon": lon,
            "lat": lat,
            "categories": ["isolated"],
            "date": "2025-11-20",
            "time_band": "night",
        },
    )
    assert sent.status_code == 201, sent.text
    published = client.post(
        f"/moderation/{sent.json()['id']}",
        headers=people["supervisor"],
        json={"action": "publish", "reason": "seen"},
    )
    assert published.status_code == 200, published.text


def test_the_briefing_agrees_with_route_exposure_and_lists_an_earlier_concern(
    client: TestClient, people: dict, app_settings: Settings
) -> None:
    _seed_crimes(app_settings)
    _concern(
        client,
        people,
        lon=-0.1100,
        lat=51.5074,
        categories=["poor_lighting", "isolated"],
        note="Unlit stretch under the bridge",
        suggestion="Light the underpass",
    )
    _published_report(client, people, -0.1030, 51.5079)

    exposure = client.post(
        "/routes/exposure", headers=people["officer"], params={"within": 50}, json=ROUTE
    )
    assert exposure.status_code == 200, exposure.text
    counts = exposure.json()
    # The fixtures really are near the route (else the comparison below proves little).
    assert counts["totals"]["concerns"] == 1
    assert counts["totals"]["reports"] == 1
    assert counts["totals"]["crimes"] > 0

    answer = client.post(
        PAGE,
        headers=people["officer"],
        json=_feature(planned_start="2026-12-03T17:00:00+00:00"),
    )
    assert answer.status_code == 200, answer.text
    page = answer.text
    totals = counts["totals"]
    assert list_items(page, "briefing-near") == [
        f"{totals['reports']} unsafe-place report" + ("s" if totals["reports"] != 1 else ""),
        f"{totals['concerns']} earlier walk concern" + ("s" if totals["concerns"] != 1 else ""),
        f"{totals['crimes']} police.uk crime" + ("s" if totals["crimes"] != 1 else ""),
    ]
    assert "Within 50 m of the route" in section(page, "briefing-near")
    worst = list_items(page, "briefing-worst")
    assert len(worst) == len(counts["worst_segments"]) > 0
    for shown, stretch in zip(worst, counts["worst_segments"], strict=True):
        assert shown.startswith(f"metres {stretch['from_m']:.0f}{D}{stretch['to_m']:.0f}: ")
        assert f"{stretch['crimes']} crime" in shown
    # The map draws every stretch the exposure counted, with the same counts.
    tips = stretch_tooltips(page)
    assert len(tips) == len(counts["segments"])
    for tip, stretch in zip(tips, counts["segments"], strict=True):
        assert f"{stretch['crimes']} crime" in tip and f"{stretch['reports']} report" in tip
    # A 2.2 km route, as PostGIS measured it.
    assert f"A {counts['length_m'] / 1000:.1f} km route" in panel(page)

    # The concern raised on the earlier walk, in the taxonomy's words, with its note.
    concerns = list_items(page, "briefing-concerns")
    assert len(concerns) == 1
    assert "Poor or no street lighting, Isolated or deserted" in concerns[0]
    assert "Unlit stretch under the bridge" in concerns[0]
    assert "Suggestion: Light the underpass" in concerns[0]
    assert re.match(r"About \d+ m along:", concerns[0])
    layers = layer_names(page)
    assert "Walk concerns (1)" in layers and "Unsafe-place reports (1)" in layers
    assert f"Police.uk crimes ({totals['crimes']})" in layers
    assert (
        section(page, "briefing-wards") == "Wards crossed Borough & Bankside, Waterloo & South Bank"
    )


def test_a_winter_evening_is_dark_from_the_start(client: TestClient, people: dict) -> None:
    page = client.post(
        PAGE,
        headers=people["officer"],
        json=_feature(planned_start="2026-12-21T17:00:00+00:00"),
    ).text
    light = section(page, "briefing-light")
    assert "Monday 21 December 2026 (GMT)" in light
    assert "Monday 21 December 2026, 17:00" + D + "17:45 GMT (45 minutes)" in panel(page)
    sun = sun_table(page)
    assert list(sun) == ["Civil dawn", "Sunrise", "Sunset", "Civil dusk"]
    # HM Nautical Almanac Office / timeanddate.com, London, 21 December 2026 (GMT).
    for name, published in (
        ("Civil dawn", "07:24"),
        ("Sunrise", "08:04"),
        ("Sunset", "15:53"),
        ("Civil dusk", "16:33"),
    ):
        assert minutes_apart(sun[name], published) <= 2, (name, sun[name])
    assert "Dark at the start: Yes." in light
    assert "It is dark from" in light
    assert "Walked in the dark: 100% of the route" in light


def test_a_summer_evening_in_london_time_is_light(client: TestClient, people: dict) -> None:
    # No offset: 19:00 London time, which is BST in June.
    page = client.post(
        PAGE, headers=people["officer"], json=_feature(planned_start="2026-06-21T19:00")
    ).text
    light = section(page, "briefing-light")
    assert "Sunday 21 June 2026, 19:00" + D + "19:45 BST" in panel(page)
    # HM Nautical Almanac Office / timeanddate.com, London, 21 June 2026: sunset 21:21 BST.
    assert minutes_apart(sun_table(page)["Sunset"], "21:21") <= 2
    assert "Dark at the start: No." in light
    assert "Walked in the dark: 0% of the route" in light


def test_a_walk_into_the_dusk_is_partly_dark(client: TestClient, people: dict) -> None:
    # Starts 20 minutes before civil dusk (about 16:33 GMT on 21 December), an hour long.
    page = client.post(
        PAGE,
        headers=people["officer"],
        json=_feature(
            planned_start="2026-12-21T16:13:00+00:00", planned_end="2026-12-21T17:13:00+00:00"
        ),
    ).text
    light = section(page, "briefing-light")
    assert "Dark at the start: No." in light
    assert "It gets dark during the walk, at 16:3" in light
    share = re.search(r"Walked in the dark: (\d+)% of the route", light)
    assert share
    # At a steady pace, the last two thirds of the hour are after dusk: about two thirds.
    assert 60 <= int(share.group(1)) <= 72


def test_the_page_form_posts_with_its_csrf_token_and_the_read_is_audited(
    client: TestClient, people: dict, issue_token: Callable[..., str]
) -> None:
    _sign_in(client, issue_token("officer", wards=[WATERLOO], name="PC Planner"))
    planner = client.get(PAGE)
    assert planner.status_code == 200
    literal = re.search(r'box\.innerHTML = ("(?:[^"\\]|\\.)*");', planner.text)
    assert literal, "no planning form on the page"
    form_html = json.loads(literal.group(1))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form_html)
    assert csrf, "the planning form carries no CSRF token"
    assert f'action="{PAGE}"' in form_html and 'method="post"' in form_html
    assert re.search(r'name="minutes"[^>]*min="30"[^>]*value="45"', form_html)
    form = {
        "route": json.dumps({"type": "Feature", "geometry": ROUTE, "properties": {}}),
        "planned_start": "2026-12-03T17:00",
        "minutes": "60",
        "within": "50",
    }
    refused = client.post(PAGE, data=form)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    answer = client.post(PAGE, data={**form, "csrf_token": csrf.group(1)})
    assert answer.status_code == 200, answer.text
    assert "Thursday 3 December 2026, 17:00" + D + "18:00 GMT (60 minutes)" in panel(answer.text)

    log = client.get("/audit", headers=people["supervisor"]).json()["entries"]
    seen = [e for e in log if e["action"] == "view planned route briefing"]
    assert [(e["actor"], e["target"]) for e in seen] == [
        ("PC Planner", f"{BOROUGH_BANKSIDE},{WATERLOO}")
    ]
    # The audit names the wards, never the route's ends.
    assert all("51.50" not in e["target"] for e in log)


def test_the_briefing_is_in_the_openapi_document(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][PAGE]["post"]
    assert operation["operationId"] == "route_briefing"
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(
        operation["requestBody"]["content"]
    )
    assert "get" not in spec["paths"][PAGE]  # the page itself is not an API


def test_planned_times_without_an_offset_are_london_time(client: TestClient, people: dict) -> None:
    # 17:00 on 3 December is GMT; the same wall-clock time on 3 June is BST (16:00 UTC).
    winter = client.post(
        PAGE, headers=people["officer"], json=_feature(planned_start="2026-12-03T17:00")
    )
    summer = client.post(
        PAGE, headers=people["officer"], json=_feature(planned_start="2026-06-03T17:00")
    )
    assert "17:00" + D + "17:45 GMT" in panel(winter.text)
    assert "17:00" + D + "17:45 BST" in panel(summer.text)
    utc = client.post(
        PAGE, headers=people["officer"], json=_feature(planned_start="2026-06-03T16:00:00Z")
    )
    assert "17:00" + D + "17:45 BST" in panel(utc.text)


def test_a_walk_over_the_autumn_clock_change_lasts_what_was_planned(
    client: TestClient, people: dict
) -> None:
    # 25 October 2026: at 02:00 BST the clocks go back to 01:00 GMT. A walk from 01:30
    # (the first, BST, 01:30) for 45 minutes ends at 01:15 GMT, not at 02:15.
    form = {"route": json.dumps(ROUTE), "planned_start": "2026-10-25T01:30", "minutes": "45"}
    page = client.post(PAGE, headers=people["officer"], data=form).text
    assert "Sunday 25 October 2026, 01:30 BST" + D + "01:15 GMT (45 minutes)" in panel(page)
    assert "Walked in the dark: 100% of the route" in section(page, "briefing-light")
