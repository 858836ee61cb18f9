"""Residents for rates per 1,000: the bundled ONS estimates, their load, apportioning, the rates.

The loader is checked against the ONS totals (4,835 LSOAs; Lambeth + Southwark 641,830
residents and 318,507 women); apportioning by the sums it must keep and by a ward inside one
LSOA; the API's rates against the counts shown, with and without suppression, in JSON, CSV,
uploaded areas and hexagons, and the method note's wording.
"""

from __future__ import annotations

import io
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from shapely.geometry import box, mapping
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from boundaries.bundled import PILOT_WARDS
from boundaries.reading import read_wards
from geo.disclosure import DisclosureRule, protect
from geo.population import (
    MIN_RESIDENTS,
    PopulationFileError,
    apportion,
    rates_per_1000,
    read_population,
)
from service.app import create_app
from service.population_load import BUNDLED_DIR, load_population
from service.queries import demo
from service.queries import population as population_queries
from service.queries.wards import require_active_ward_set
from service.settings import Settings
from tests.conftest import _create_database, _drop_database, make_token, with_database

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
#: ONS mid-2020 (SOURCES.md, section 9).
PILOT_PERSONS, PILOT_FEMALES = 641_830, 318_507
WORDING = "population apportioned from ONS mid-2020 LSOA estimates by area"
RATES = ("reports_per_1000_residents", "reports_per_1000_women")
# Around Brixton: inside Lambeth, about 1.2 km².
BRIXTON = box(-0.125, 51.455, -0.105, 51.465)


@pytest.fixture(scope="module")
def lsoas() -> gpd.GeoDataFrame:
    return read_population(BUNDLED_DIR)


# --- the bundled files -----------------------------------------------------------------------


def test_the_bundled_files_hold_every_london_lsoa_with_the_ons_totals(
    lsoas: gpd.GeoDataFrame,
) -> None:
    assert len(lsoas) == 4835 and lsoas["code"].is_unique
    assert lsoas.crs.to_epsg() == 27700
    assert (lsoas["persons"].sum(), lsoas["females"].sum()) == (9_002_488, 4_488_110)
    pilot = lsoas[lsoas["district_code"].isin([LAMBETH, SOUTHWARK])]
    assert (pilot["persons"].sum(), pilot["females"].sum()) == (PILOT_PERSONS, PILOT_FEMALES)
    assert lsoas.geometry.is_valid.all()
    assert set(lsoas.columns) == {
        "code", "name", "district_code", "district_name", "persons", "females", "geometry"
    }  # fmt: skip


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "population"
    shutil.copytree(BUNDLED_DIR, folder)
    return folder


def _edit_csv(folder: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    path = folder / "london-mid2020-pop.csv"
    change(pd.read_csv(path, dtype=str)).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda f: _edit_csv(f, lambda t: t.drop(columns="Females_All-Ages")),
            "lacks the columns Females_All-Ages",
        ),
        (
            lambda f: _edit_csv(f, lambda t: t.assign(**{"Persons_All-Ages": "many"})),
            "4835 rows have a persons count that is not a whole number",
        ),
        (
            lambda f: _edit_csv(f, lambda t: t.iloc[1:]),
            "do not match: 0 only in the CSV (), 1 only in the boundaries (E01000001)",
        ),
        (
            lambda f: (f / "london-2011-lsoa-gen20.prj").unlink(),
            "is not in EPSG:27700 (British National Grid), or its .prj is missing",
        ),
        (
            lambda f: (f / "london-2011-lsoa-gen20.shp").unlink(),
            "exactly one LSOA boundary shapefile (*.shp), found none",
        ),
    ],
    ids=["no-females", "not-a-number", "codes-differ", "no-prj", "no-shapefile"],
)
def test_bad_files_are_refused_saying_what_is_wrong(
    tmp_path: Path, spoil: Callable[[Path], None], message: str
) -> None:
    folder = _copy(tmp_path)
    spoil(folder)
    with pytest.raises(PopulationFileError) as refused:
        read_population(folder)
    assert message in str(refused.value)


# --- apportioning ----------------------------------------------------------------------------


def test_apportioning_to_the_pilot_wards_keeps_each_boroughs_residents(
    lsoas: gpd.GeoDataFrame,
) -> None:
    wards = read_wards(PILOT_WARDS.path).wards.to_crs(27700)
    shares = apportion(lsoas, wards)
    assert len(shares) == len(wards) == 48 and (shares > 0).all().all()
    for borough in (LAMBETH, SOUTHWARK):
        source = lsoas[lsoas["district_code"] == borough][["persons", "females"]].sum()
        got = shares[wards["borough_code"] == borough].sum()
        # Within 0.5 %: the 20 m generalised LSOA edges and the 2024 ward edges differ a little.
        assert got["persons"] == pytest.approx(source["persons"], rel=0.005)
        assert got["females"] == pytest.approx(source["females"], rel=0.005)
    total = shares.sum()
    assert total["persons"] == pytest.approx(PILOT_PERSONS, rel=0.005)
    assert total["females"] == pytest.approx(PILOT_FEMALES, rel=0.005)


def test_a_ward_wholly_inside_one_lsoa_gets_its_area_share(lsoas: gpd.GeoDataFrame) -> None:
    lsoa = lsoas[lsoas["district_code"] == LAMBETH].iloc[0]
    centre = lsoa.geometry.representative_point()
    inner = centre.buffer(40).intersection(lsoa.geometry)
    assert lsoa.geometry.contains(inner.buffer(-0.01))
    ward = gpd.GeoDataFrame({"code": ["X"]}, geometry=[inner], crs=27700)
    share = inner.area / lsoa.geometry.area
    got = apportion(lsoas, ward).iloc[0]
    assert got["persons"] == pytest.approx(lsoa["persons"] * share, rel=1e-6)
    assert got["females"] == pytest.approx(lsoa["females"] * share, rel=1e-6)
    # A unit half outside every LSOA (over the sea, say) is not given the other half's people.
    outside = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)], crs=27700)
    assert apportion(lsoas, outside).iloc[0].tolist() == [0.0, 0.0]


def test_rates_use_the_count_as_shown_and_withhold_what_would_mislead() -> None:
    shown, suppressed = protect([23, 7, 40, 40], DisclosureRule())
    rates = rates_per_1000(shown, suppressed, [5000, 5000, 99, 2000], [2500, 2500, 50, 80])
    # 23 reports are shown as 25, so the rate is 25 per 5,000, not 23.
    assert rates.loc[0, RATES[0]] == 5.0 and rates.loc[0, RATES[1]] == 10.0
    assert rates["rate_withheld"].tolist() == [
        None, "suppressed", "too few residents", "too few residents"
    ]  # fmt: skip
    assert rates.loc[1:, list(RATES)].isna().all().all()
    assert MIN_RESIDENTS == 100


# --- the loader --------------------------------------------------------------------------------


def test_population_load_stores_every_lsoa_and_the_wards_shares_and_a_reload_replaces(
    walktalk: Callable[..., tuple[int, str, str]], fresh_db: str, tmp_path: Path
) -> None:
    code, out, err = walktalk("population", "load")
    assert code == 0, err
    assert "population: 4,835 LSOAs loaded, 9,002,488 residents, 4,488,110 women" in out
    assert "ward set 'pilot-2024': residents apportioned by area to 48 wards" in out
    engine = create_engine(fresh_db)

    def totals() -> tuple[Any, ...]:
        with engine.connect() as conn:
            return tuple(
                conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM lsoa_population), "
                        "(SELECT sum(persons) FROM lsoa_population), "
                        "(SELECT count(*) FROM ward_population), "
                        "(SELECT sum(persons) FROM ward_population), "
                        "(SELECT sum(females) FROM ward_population)"
                    )
                ).one()
            )

    lsoa_count, persons, wards, ward_persons, ward_females = totals()
    assert (lsoa_count, persons, wards) == (4835, 9_002_488, 48)
    assert ward_persons == pytest.approx(PILOT_PERSONS, rel=0.005)
    assert ward_females == pytest.approx(PILOT_FEMALES, rel=0.005)
    # Again from a copy: the same rows, replaced rather than doubled.
    assert walktalk("population", "load", str(_copy(tmp_path)))[0] == 0
    assert totals() == (lsoa_count, persons, wards, ward_persons, ward_females)
    # A bad folder: non-zero, the reason, and the stored estimates untouched.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pop.csv").write_text("LSOA11CD,Persons_All-Ages\nE01000001,12\n")
    code, out, err = walktalk("population", "load", str(broken))
    assert code == 1
    assert "exactly one LSOA boundary shapefile (*.shp), found none" in err
    assert "nothing was loaded" in err
    assert totals() == (lsoa_count, persons, wards, ward_persons, ward_females)
    engine.dispose()


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    name = f"walktalk_pop_{secrets.token_hex(5)}"
    _create_database(server_url, name, template=template_db)
    url = with_database(server_url, name, driver=True)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        demo.seed_reports(session, 800, seed=21)
    load_population(engine)
    engine.dispose()
    try:
        yield Settings(
            database_url=url,
            home=tmp_path_factory.mktemp("home"),
            secret_key=SecretStr(secrets.token_urlsafe(48)),
            tiles="none",
        )
    finally:
        _drop_database(server_url, name)


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def supervisor(settings: Settings) -> dict[str, str]:
    token = make_token(settings, "supervisor", name="population test", command_unit="AS")
    return {"Authorization": f"Bearer {token}"}


def _wards(api: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    answer = api.get("/wards/summary", headers=headers)
    assert answer.status_code == 200, answer.text
    return {f["id"]: f["properties"] for f in answer.json()["features"]}


def test_ward_rates_are_the_shown_count_per_1000_residents_and_women(
    api: TestClient, supervisor: dict[str, str]
) -> None:
    exact = _wards(api, supervisor)
    public = _wards(api, {})
    assert sum(w["residents"] for w in exact.values()) == pytest.approx(PILOT_PERSONS, rel=0.005)
    assert sum(w["women"] for w in exact.values()) == pytest.approx(PILOT_FEMALES, rel=0.005)
    rounded = suppressed = 0
    for code, ward in public.items():
        truth = exact[code]
        assert (ward["residents"], ward["women"]) == (truth["residents"], truth["women"])
        # Supervisors: the exact count over the exact apportioned residents.
        assert truth["rate_withheld"] is None
        assert truth[RATES[0]] == pytest.approx(
            truth["count"] / truth["residents"] * 1000, abs=0.006
        )
        if ward["suppressed"]:
            suppressed += 1
            assert ward[RATES[0]] is None and ward[RATES[1]] is None
            assert ward["rate_withheld"] == "suppressed"
            continue
        assert ward["rate_withheld"] is None
        assert ward["count"] % 5 == 0
        assert ward[RATES[0]] == pytest.approx(ward["count"] / ward["residents"] * 1000, abs=0.006)
        assert ward[RATES[1]] == pytest.approx(ward["count"] / ward["women"] * 1000, abs=0.006)
        rounded += ward["count"] != truth["count"]
    # Both cases happen: some wards suppressed, and some rates moved by rounding.
    assert suppressed >= 1 and rounded >= 1


def test_the_csv_has_the_rates_as_measures(api: TestClient) -> None:
    summary = _wards(api, {})
    answer = api.get("/wards/summary.csv")
    table = pd.read_csv(io.BytesIO(answer.content), dtype=str, keep_default_na=False)
    measures = table.groupby("ward_code")["measure"].apply(list).iloc[0]
    assert measures[:6] == [
        "count", "rate_per_km2", "residents", "women", *RATES
    ]  # fmt: skip
    rates = table[table["measure"] == RATES[0]]
    assert len(rates) == 48
    for row in rates.itertuples():
        ward = summary[row.ward_code]
        if ward["suppressed"]:
            assert (row.value, row.suppressed, row.category) == ("", "true", "suppressed")
        else:
            assert float(row.value) == ward[RATES[0]] and row.suppressed == "false"
    assert WORDING in table["notes"].iloc[0]


def test_the_geopackage_carries_the_rates(api: TestClient, tmp_path: Path) -> None:
    answer = api.get("/wards/summary.gpkg")
    (tmp_path / "w.gpkg").write_bytes(answer.content)
    frame = gpd.read_file(tmp_path / "w.gpkg", layer="ward_summary")
    assert {"residents", "women", *RATES, "rate_withheld"} <= set(frame.columns)
    shown = frame[~frame["suppressed"]]
    assert np.allclose(shown[RATES[0]], shown["count"] / shown["residents"] * 1000, atol=0.006)


def test_without_estimates_the_rates_say_so(client: TestClient) -> None:
    wards = _wards(client, {})
    assert {w["rate_withheld"] for w in wards.values()} <= {"suppressed", "no population estimates"}
    assert all(w["residents"] is None and w[RATES[0]] is None for w in wards.values())


def test_an_uploaded_area_has_the_rates_of_its_residents(
    api: TestClient, supervisor: dict[str, str]
) -> None:
    exact = api.post("/areas/summary", json=mapping(BRIXTON), headers=supervisor).json()
    figures = exact["properties"]
    # Apportioned from the LSOAs, by area: about 1.2 km² of Brixton holds thousands of people.
    assert 5_000 < figures["residents"] < 40_000
    assert figures[RATES[0]] == pytest.approx(
        figures["count"] / figures["residents"] * 1000, abs=0.006
    )
    public = api.post("/areas/summary", json=mapping(BRIXTON)).json()["properties"]
    assert public["residents"] == figures["residents"]
    assert not public["suppressed"] and public["count"] % 5 == 0
    assert public[RATES[1]] == pytest.approx(public["count"] / public["women"] * 1000, abs=0.006)
    assert any(WORDING in line for line in exact["method_note"])


def test_hexagons_have_rates_and_none_where_few_live(
    api: TestClient, supervisor: dict[str, str]
) -> None:
    answer = api.get("/hotspots", params={"edge": 250}, headers=supervisor)
    assert answer.status_code == 200
    cells = [f["properties"] for f in answer.json()["features"]]
    assert any(WORDING in line for line in answer.json()["method"])
    reasons = {c["rate_withheld"] for c in cells}
    assert "too few residents" in reasons  # cells on the river or in a park
    for cell in cells:
        if cell["rate_withheld"] == "too few residents":
            assert cell[RATES[0]] is None
            assert min(cell["residents"], cell["women"]) < MIN_RESIDENTS + 1
        else:
            assert cell["rate_withheld"] is None
            assert cell[RATES[0]] == pytest.approx(
                cell["count"] / cell["residents"] * 1000, rel=0.01, abs=0.006
            )
    # The cells share out the two boroughs' residents, as the wards do.
    assert sum(c["residents"] for c in cells) == pytest.approx(PILOT_PERSONS, rel=0.005)
    public = api.get("/hotspots", params={"edge": 250}).json()["features"]
    hidden = [f["properties"] for f in public if f["properties"]["suppressed"]]
    assert hidden and all(c[RATES[0]] is None for c in hidden)
    assert {c["rate_withheld"] for c in hidden} == {"suppressed"}


def test_the_hexagon_csv_carries_the_rates(api: TestClient) -> None:
    table = pd.read_csv(io.StringIO(api.get("/hotspots.csv", params={"edge": 500}).text))
    features = api.get("/hotspots", params={"edge": 500}).json()["features"]
    json_rates = {(f["properties"]["i"], f["properties"]["j"]): f["properties"] for f in features}
    assert len(table) == len(json_rates)
    for row in table.itertuples():
        cell = json_rates[(row.i, row.j)]
        assert row.residents == cell["residents"]
        if cell[RATES[0]] is None:
            assert np.isnan(row.reports_per_1000_residents)
            assert row.rate_withheld == cell["rate_withheld"]
        else:
            assert row.reports_per_1000_residents == cell[RATES[0]]


def test_a_ward_set_loaded_after_the_population_gets_its_residents(
    walktalk: Callable[..., tuple[int, str, str]], fresh_db: str
) -> None:
    assert walktalk("population", "load")[0] == 0
    code, _, err = walktalk("wards", "load", str(PILOT_WARDS.path), "--set", "pilot-copy")
    assert code == 0, err
    engine = create_engine(fresh_db)
    with engine.connect() as conn:
        by_set: dict[str, float] = dict(
            conn.execute(
                text(
                    "SELECT s.name, sum(p.persons) FROM ward_population p "
                    "JOIN ward_sets s ON s.id = p.ward_set_id GROUP BY s.name"
                )
            ).all()
        )
    engine.dispose()
    assert set(by_set) == {"pilot-2024", "pilot-copy"}
    assert by_set["pilot-copy"] == pytest.approx(by_set["pilot-2024"], rel=1e-9)


def test_a_ward_set_without_stored_figures_is_apportioned_on_the_fly(
    db: Session, lsoas: gpd.GeoDataFrame
) -> None:
    active = require_active_ward_set(db)
    assert population_queries.ward_population(db, active.id).empty  # nothing loaded yet
    pilot = lsoas[lsoas["district_code"].isin([LAMBETH, SOUTHWARK])].to_crs(4326)
    assert population_queries.store_lsoas(db, pilot, source="test") == len(pilot)
    stored = db.execute(text("SELECT count(*) FROM ward_population")).scalar_one()
    assert stored == 0  # store_lsoas clears the wards' figures; none computed yet
    wards = population_queries.ward_population(db, active.id)
    assert len(wards) == 48
    assert wards["persons"].sum() == pytest.approx(PILOT_PERSONS, rel=0.005)
    assert wards["females"].sum() == pytest.approx(PILOT_FEMALES, rel=0.005)
