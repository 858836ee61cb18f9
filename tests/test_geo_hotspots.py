"""Getis-Ord Gi* hot spots on hexagon counts: neighbours, clusters, chance, FDR, disclosure."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import shapely
from esda import G_Local

import geo.hotspots
from geo.disclosure import DisclosureRule, protect
from geo.hexagons import hex_centres, hex_index, hex_polygons
from geo.hotspots import (
    CLASSES,
    NOT_SIGNIFICANT,
    PERMUTATIONS,
    benjamini_hochberg,
    class_label,
    describe_method,
    gi_star,
    hex_neighbours,
    hex_weights,
    hot_spots,
)

EDGE = 500
RULE = DisclosureRule(k=10, base=5)


# At 500 m, cell (700, 208) is centred at easting 525 km, northing 180 km: central London.
I0, J0 = 700, 208


def block(columns: int, rows: int, *, i0: int = I0, j0: int = J0) -> tuple[np.ndarray, ...]:
    """A block of ``columns`` x ``rows`` cells starting at cell ``(i0, j0)``."""
    ii, jj = np.meshgrid(np.arange(i0, i0 + columns), np.arange(j0, j0 + rows), indexing="ij")
    return ii.ravel(), jj.ravel()


def points_in_cells(
    rng: np.random.Generator, i: np.ndarray, j: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points uniform over the union of the cells (a cell, then a point in it)."""
    polygons = hex_polygons(i, j, EDGE)
    chosen = rng.integers(0, len(i), count)
    cx, cy = hex_centres(i[chosen], j[chosen], EDGE)
    x = np.empty(count)
    y = np.empty(count)
    todo = np.arange(count)
    # Rejection from each chosen hexagon's bounding box keeps the points inside the union.
    while todo.size:
        px = cx[todo] + rng.uniform(-EDGE, EDGE, todo.size)
        py = cy[todo] + rng.uniform(-EDGE, EDGE, todo.size)
        inside = shapely.contains_xy(polygons[chosen[todo]], px, py)
        x[todo[inside]], y[todo[inside]] = px[inside], py[inside]
        todo = todo[~inside]
    return x, y


def counts_of(i: np.ndarray, j: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points binned into the cells the way PostGIS does it (nearest centre)."""
    pi, pj = hex_index(x, y, EDGE)
    index = {(a, b): n for n, (a, b) in enumerate(zip(i.tolist(), j.tolist(), strict=True))}
    counts = np.zeros(len(i), dtype=np.int64)
    for a, b in zip(pi.tolist(), pj.tolist(), strict=True):
        counts[index[(a, b)]] += 1
    return counts


def hand_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg written out from the definition: min over m >= k of p_(m) n / m."""
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    out = np.empty(n)
    out[order] = adjusted
    return out


# --- neighbours --------------------------------------------------------------------------


def test_neighbours_from_the_indices_are_the_hexagons_that_share_an_edge() -> None:
    # Both parities of column, negative indices and holes in the block.
    i, j = block(9, 7, i0=-4, j0=-3)
    keep = np.random.default_rng(3).random(len(i)) > 0.15
    i, j = i[keep], j[keep]
    polygons = hex_polygons(i, j, EDGE)
    found = hex_neighbours(i, j)
    for a in range(len(i)):
        shared = shapely.length(shapely.intersection(polygons[a], polygons))
        touching = sorted(b for b in np.flatnonzero(shared > 1.0).tolist() if b != a)
        assert found[a] == touching, (i[a], j[a])


def test_every_inner_cell_has_six_neighbours_and_weights_are_binary_and_symmetric() -> None:
    i, j = block(6, 6)
    weights = hex_weights(i, j)
    inner = (i > i.min()) & (i < i.max()) & (j > j.min()) & (j < j.max())
    cardinalities = np.array([weights.cardinalities[n] for n in range(len(i))])
    assert (cardinalities[inner] == 6).all()
    assert cardinalities[~inner].max() <= 5
    matrix = weights.sparse.toarray()
    assert set(np.unique(matrix)) == {0.0, 1.0}
    assert (matrix == matrix.T).all() and (np.diag(matrix) == 0).all()


def test_duplicate_or_mismatched_cells_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        hex_neighbours([1, 1], [2, 2])
    with pytest.raises(ValueError, match="one length"):
        hex_neighbours([1, 2], [2])
    with pytest.raises(ValueError, match="one value per cell"):
        gi_star([1, 2], [1, 1], [3])
    with pytest.raises(ValueError, match="whole numbers"):
        gi_star([1, 2], [1, 1], [3, -1])
    with pytest.raises(ValueError, match="whole numbers"):
        gi_star([1, 2], [1, 1], [3, 0.5])


# --- the statistic -----------------------------------------------------------------------


def test_z_is_esdas_gi_star_on_the_hexagon_weights() -> None:
    i, j = block(8, 8)
    counts = np.random.default_rng(5).poisson(4, len(i))
    z, _ = gi_star(i, j, counts)
    expected = G_Local(
        counts.astype(float), hex_weights(i, j), transform="B", star=True, permutations=0
    ).Zs
    assert np.allclose(z, expected)


def test_a_planted_cluster_is_hot_and_significant_after_fdr() -> None:
    rng = np.random.default_rng(20260105)
    i, j = block(15, 15)
    x, y = points_in_cells(rng, i, j, 15 * 15 * 4)  # about four reports a cell
    # Some 400 reports around one street corner, spread over a few hundred metres.
    focus = (i == I0 + 7) & (j == J0 + 7)
    fx, fy = hex_centres(i[focus], j[focus], EDGE)
    x = np.concatenate([x, rng.normal(fx[0], 350, 400)])
    y = np.concatenate([y, rng.normal(fy[0], 350, 400)])
    counts = counts_of(i, j, x, y)

    spots = hot_spots(i, j, counts, None)
    centre = spots[focus].iloc[0]
    assert centre["class"].startswith("hot_")
    assert centre["p_fdr"] <= 0.10 and centre["z"] > 5
    hot = spots[spots["class"].str.startswith("hot_")]
    assert len(hot) >= 7  # the corner and its ring at least
    # Every hot cell lies in or next to the cluster, none across the block.
    hx, hy = hex_centres(hot["i"], hot["j"], EDGE)
    assert np.hypot(hx - fx[0], hy - fy[0]).max() < 3 * EDGE * np.sqrt(3)
    assert not spots["class"].str.startswith("cold_").any()


def test_uniform_random_reports_give_nothing_significant_after_fdr() -> None:
    rng = np.random.default_rng(7)
    i, j = block(20, 20)
    x, y = points_in_cells(rng, i, j, 20 * 20 * 6)
    counts = counts_of(i, j, x, y)
    spots = hot_spots(i, j, counts, None)
    assert (spots["class"] == NOT_SIGNIFICANT).all()
    # Not because nothing was tested: uncorrected, chance alone passes dozens of cells at 90 %.
    assert (spots["p"] <= 0.10).sum() >= 10
    assert spots["p_fdr"].min() > 0.10


def test_the_fdr_correction_is_benjamini_hochberg_of_the_raw_p() -> None:
    rng = np.random.default_rng(11)
    i, j = block(12, 12)
    counts = rng.poisson(3, len(i))
    counts[(i - I0 - 5) ** 2 + (j - J0 - 5) ** 2 <= 2] += 25
    spots = hot_spots(i, j, counts, None)
    p, p_fdr = spots["p"].to_numpy(), spots["p_fdr"].to_numpy()
    assert np.allclose(p_fdr, hand_bh(p))
    assert (p_fdr >= p - 1e-12).all()
    # The correction changes the answer: some cells pass 90 % on raw p and not after FDR.
    assert ((p <= 0.10) & (spots["class"] == NOT_SIGNIFICANT)).any()
    assert (spots["class"] != NOT_SIGNIFICANT).any()
    # The class follows the corrected p and the sign of z.
    for _, cell in spots.iterrows():
        if cell["p_fdr"] <= 0.01:
            level = "99"
        elif cell["p_fdr"] <= 0.05:
            level = "95"
        elif cell["p_fdr"] <= 0.10:
            level = "90"
        else:
            assert cell["class"] == NOT_SIGNIFICANT
            continue
        assert cell["class"] == f"{'hot' if cell['z'] > 0 else 'cold'}_{level}"


def test_benjamini_hochberg_leaves_untested_cells_out_of_the_family() -> None:
    p = np.array([0.002, np.nan, 0.03, 0.5, np.nan, 0.04])
    got = benjamini_hochberg(p)
    tested = np.isfinite(p)
    assert np.isnan(got[~tested]).all()
    assert np.allclose(got[tested], hand_bh(p[tested]))


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_p_counts_ties_in_both_tails_so_common_zero_neighbourhoods_are_not_cold() -> None:
    # Most of the area is empty: an empty neighbourhood is what chance gives most often.
    i, j = block(14, 14)
    counts = np.zeros(len(i), dtype=np.int64)
    rng = np.random.default_rng(2)
    busy = rng.choice(len(i), 20, replace=False)
    counts[busy] = rng.integers(1, 30, 20)
    weights = hex_weights(i, j)
    empty_around = np.array(
        [counts[n] == 0 and not counts[weights.neighbors[n]].any() for n in range(len(i))]
    )
    assert empty_around.sum() > 50
    _, p = gi_star(i, j, counts)
    assert (p[empty_around] > 0.5).all()
    # esda's own p_sim counts ties upwards only and calls every one of them extreme.
    esda_p = G_Local(
        counts.astype(float), weights, transform="B", star=True, seed=1, n_jobs=1
    ).p_sim
    assert (esda_p[empty_around] == 1 / (PERMUTATIONS + 1)).all()
    assert not hot_spots(i, j, counts, None)["class"].str.startswith("cold_").any()


def test_the_same_counts_always_give_the_same_answer() -> None:
    i, j = block(10, 10)
    counts = np.random.default_rng(4).poisson(6, len(i))
    first, second = hot_spots(i, j, counts, None), hot_spots(i, j, counts, None)
    assert first.equals(second)


@pytest.mark.parametrize("value", [0, 7])
def test_nothing_to_test_is_not_significant(value: int) -> None:
    i, j = block(5, 5)
    spots = hot_spots(i, j, np.full(len(i), value), None)
    assert (spots["class"] == NOT_SIGNIFICANT).all()
    assert spots[["z", "p", "p_fdr"]].isna().all().all()


def test_an_isolated_cell_is_never_significant() -> None:
    i, j = block(10, 10)
    i = np.append(i, I0 + 100)  # far from the block, with no neighbour
    j = np.append(j, J0 + 50)
    counts = np.append(np.random.default_rng(9).poisson(2, len(i) - 1), 500)
    spots = hot_spots(i, j, counts, None)
    island = spots.iloc[-1]
    assert island["class"] == NOT_SIGNIFICANT
    assert np.isnan(island["z"]) and np.isnan(island["p"]) and np.isnan(island["p_fdr"])
    # Left out of the FDR family: the others are corrected over 100 cells, not 101.
    tested = spots.iloc[:-1]
    assert np.allclose(tested["p_fdr"], hand_bh(tested["p"].to_numpy()))


# --- what protected viewers get ----------------------------------------------------------


@pytest.fixture(scope="module")
def lumpy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(8)
    i, j = block(14, 14)
    counts = rng.poisson(6, len(i))
    near = (i - I0 - 6) ** 2 + (j - J0 - 6) ** 2 <= 5
    counts[near] += rng.integers(30, 90, near.sum())
    return i, j, counts


def test_protected_viewers_get_gi_star_of_the_protected_counts(lumpy) -> None:
    i, j, counts = lumpy
    spots = hot_spots(i, j, counts, RULE)
    shown, suppressed = protect(counts, RULE)
    assert suppressed.any() and (~suppressed).sum() > 20
    # The same as a supervisor would get had the protected values been the counts.
    as_if = hot_spots(i, j, np.where(suppressed, 0, shown).astype(int), None)
    visible = ~suppressed
    assert np.allclose(spots["z"][visible], as_if["z"][visible])
    assert np.allclose(spots["p_fdr"][visible], as_if["p_fdr"][visible])
    assert (spots["class"][visible] == as_if["class"][visible]).all()
    # ...and not what the exact counts give.
    exact = hot_spots(i, j, counts, None)
    assert not np.allclose(spots["z"][visible], exact["z"][visible])


def test_suppressed_cells_get_no_count_z_p_or_class_and_counts_shown_are_protected(lumpy) -> None:
    i, j, counts = lumpy
    spots = hot_spots(i, j, counts, RULE)
    hidden = spots[spots["suppressed"]]
    assert (counts[spots["suppressed"]] < RULE.k).all()
    assert hidden[["count", "z", "p", "p_fdr"]].isna().all().all()
    assert hidden["class"].isna().all()
    shown = spots.loc[~spots["suppressed"], "count"]
    assert (shown >= RULE.k).all() and (shown % RULE.base == 0).all()
    assert set(spots["class"].dropna()) <= set(CLASSES)
    assert spots["class"].dropna().str.startswith("hot_").any()


def test_exact_counts_behind_the_protection_change_nothing_a_protected_viewer_gets(lumpy) -> None:
    i, j, counts = lumpy
    before = hot_spots(i, j, counts, RULE)
    changed = counts.copy()
    # A suppressed cell's true count, and a shown cell's within its rounding: 0 -> 9, 11 -> 12.
    small = np.flatnonzero(counts < RULE.k)
    changed[small[0]] = 9 if counts[small[0]] != 9 else 0
    rounds_to_ten = np.flatnonzero(counts == 11)
    if rounds_to_ten.size:
        changed[rounds_to_ten[0]] = 12
    changed[np.argmax(counts)] += 2 if counts.max() % 5 < 2 else -2
    assert not np.array_equal(changed, counts)
    after = hot_spots(i, j, changed, RULE)
    assert before.equals(after)


def test_class_labels_and_the_method_text() -> None:
    assert [class_label(c) for c in CLASSES] == [
        "Hot spot, 99 % confidence",
        "Hot spot, 95 % confidence",
        "Hot spot, 90 % confidence",
        "Not significant",
        "Cold spot, 90 % confidence",
        "Cold spot, 95 % confidence",
        "Cold spot, 99 % confidence",
    ]
    with pytest.raises(ValueError, match="unknown hot-spot class"):
        class_label("warm_80")
    protected = " ".join(describe_method(120, RULE))
    assert "protected counts (suppressed cells taken as 0)" in protected
    assert "over all 120 cells" in protected and "999 conditional permutations" in protected
    assert "the exact counts" in " ".join(describe_method(120, None))


def test_the_examples_in_the_docstrings_hold() -> None:
    result = doctest.testmod(geo.hotspots)
    assert result.attempted >= 4 and result.failed == 0
