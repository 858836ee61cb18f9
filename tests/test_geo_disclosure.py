"""geo.disclosure: suppression under k and rounding to a base, in every case."""

from __future__ import annotations

import numpy as np
import pytest

from geo.disclosure import DisclosureRule, protect


def test_counts_under_k_are_suppressed_and_the_rest_rounded() -> None:
    counts = np.arange(0, 40)
    shown, suppressed = protect(counts, DisclosureRule(k=10, base=5))
    assert suppressed.tolist() == [c < 10 for c in counts]
    assert np.isnan(shown[:10]).all()
    assert (shown[10:] % 5 == 0).all()
    assert (np.abs(shown[10:] - counts[10:]) <= 2.5).all()
    # Halves round up, the same way every time.
    assert protect([12, 13, 17, 18], DisclosureRule(k=1, base=5))[0].tolist() == [10, 15, 15, 20]


def test_exact_counts_for_those_who_may_see_them() -> None:
    shown, suppressed = protect([0, 3, 12], None)
    assert shown.tolist() == [0, 3, 12] and not suppressed.any()


@pytest.mark.parametrize("bad", [[-1], [2.5]])
def test_counts_must_be_whole_and_not_negative(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="whole numbers"):
        protect(bad, DisclosureRule())


def test_a_rule_needs_positive_numbers() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DisclosureRule(k=0)
    assert "fewer than 10 reports" in DisclosureRule().describe()
