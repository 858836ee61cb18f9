"""``/maps/wards/summary?classes=``: the choropleth's classification scheme, chosen by URL."""

from __future__ import annotations

import html
import json
import re

from tests.test_api_summaries import api, seeded_url, settings, who  # noqa: F401 (fixtures)


def legend_subtitle(page: str) -> str:
    """The ward legend's subtitle, as the page's script writes it (a JSON string literal)."""
    (literal,) = re.findall(r'(".*?map-legend-subtitle.*?")\s*;', page)
    inner = json.loads(literal)
    return html.unescape(re.search(r'map-legend-subtitle">([^<]*)<', inner).group(1))


def test_each_scheme_is_named_in_the_legend(api, who) -> None:  # noqa: F811
    names = {
        None: "Fisher\u2013Jenks natural breaks",
        "fisher_jenks": "Fisher\u2013Jenks natural breaks",
        "jenks_caspall": "Jenks\u2013Caspall natural breaks",
        "quantiles": "Quantiles",
        "equal_interval": "Equal intervals",
    }
    for scheme, name in names.items():
        params = {} if scheme is None else {"classes": scheme}
        page = api.get("/maps/wards/summary", params=params, headers=who["partner"])
        assert page.status_code == 200, page.text
        subtitle = legend_subtitle(page.text)
        # A partner's counts are rounded to 5: the legend says how wide a class must be.
        rule = r"(, none narrower than [\d.]+ per km² \(counts are rounded to 5\))?"
        pattern = rf"{re.escape(name)}, \d class(?:es)?{rule}\. Ward set: \S+"
        assert re.fullmatch(pattern, subtitle), (scheme, subtitle)


def test_an_unknown_scheme_is_refused_naming_the_choices(api, who) -> None:  # noqa: F811
    answer = api.get(
        "/maps/wards/summary", params={"classes": "natural"}, headers=who["partner"]
    )
    assert answer.status_code == 422
    assert "unknown classification scheme 'natural'" in answer.text
    assert "use one of fisher_jenks, jenks_caspall, quantiles, equal_interval" in answer.text
