"""The home page links each role to its pages, and none of the links is dead."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

LINK = re.compile(r'href="(/[^"#]*)"')


@pytest.mark.parametrize(
    ("who", "expected", "absent"),
    [
        ("public", {"/report", "/maps/hotspots", "/maps/heatmap", "/themes/page"}, {"/evaluation"}),
        ("partner", {"/maps/wards/summary", "/maps/hotspots"}, {"/maps/routes/briefing"}),
        # Staff get "My work": pages, not the JSON list of walks.
        (
            "waterloo",
            {"/maps/routes/briefing", "/work/walks/new", "/work/requests"},
            {"/evaluation", "/walks"},
        ),
        (
            "supervisor",
            {"/evaluation", "/audit", "/maps/routes/briefing", "/work/walks/new"},
            set(),
        ),
    ],
)
def test_each_role_gets_working_links(
    client: TestClient, people: dict, who: str, expected: set[str], absent: set[str]
) -> None:
    home = client.get("/", headers=people[who])
    assert home.status_code == 200
    links = set(LINK.findall(home.text))
    assert expected <= links and not absent & links
    for link in sorted(links):
        answer = client.get(link, headers=people[who], follow_redirects=False)
        assert answer.status_code in (200, 303), f"{who}: {link} answered {answer.status_code}"


@pytest.mark.parametrize(("who", "asks_for_a_token"), [("public", False), ("partner", True)])
def test_the_home_page_says_how_to_add_the_layers_in_qgis(
    client: TestClient, people: dict, who: str, asks_for_a_token: bool
) -> None:
    home = client.get("/", headers=people[who]).text
    assert "Add WFS / OGC API \u2013 Features Layer" in home
    # The URL to paste is this server's own /ogc, which answers.
    url = re.search(r"URL: <code>([^<]+)</code>", home)
    assert url is not None and url.group(1).endswith("/ogc")
    assert client.get(url.group(1), headers=people[who]).status_code == 200
    assert ("<em>API Header</em>" in home) is asks_for_a_token
