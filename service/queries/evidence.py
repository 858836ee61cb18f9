"""The evidence a request to a partner stands on: what was reported near it, and its rank.

For each request, the published reports and walk concerns within ``within`` metres of its
point, or of its stretch when it has one, measured on the British National Grid: the total,
those about lighting, those made about the dark, and in how many distinct months. A score
weighs them (weights are settings), and requests are ranked by score within their borough
and within their ward. For an installed request, the same radius counted over equal periods
before and after the install date shows whether fewer places were reported since.

Exact counts come out of here; what a viewer may see of them (``protect_evidence``) is decided
by the caller's role, as everywhere: below k a count shows as "fewer than k".
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.disclosure import DisclosureRule, protect

#: The categories that count as "about lighting" (see ``service.taxonomy``).
LIGHTING_CATEGORIES: tuple[str, ...] = ("poor_lighting",)
#: The counts behind a score, in the order they are listed.
COUNTS: tuple[str, ...] = ("total", "lighting", "dark", "months")
#: Longest period before and after an install date that is compared.
MAX_COMPARISON_DAYS = 365
# Degrees of latitude or longitude are at least 60 km in Great Britain (longitude shrinks with
# latitude: 111 km x cos 61° ≈ 54 km in Shetland, 69 km in London); a box this much wider
# than the request in degrees holds everything within ``within`` metres, so the spatial index
# narrows the search before the exact distance on the grid.
_METRES_PER_DEGREE_AT_LEAST = 50_000.0


@dataclass(frozen=True)
class EvidenceWeights:
    """How much each count adds to a request's score."""

    total: float = 1.0
    lighting: float = 2.0
    dark: float = 1.0
    months: float = 1.0

    def describe(self) -> str:
        """The score's formula in words, for method notes."""
        return (
            f"score = {self.total:g} times reports + {self.lighting:g} times about lighting + "
            f"{self.dark:g} times in the dark + {self.months:g} times distinct months"
        )


_EVIDENCE_SQL = """
WITH asked AS (
    SELECT q.id, q.reference, q.kind, q.status, q.borough_code, q.ward_code,
           coalesce(q.line, q.geom) AS g4326,
           ST_Transform(coalesce(q.line, q.geom), 27700) AS g
      FROM partner_requests q
     WHERE (CAST(:ids AS uuid[]) IS NULL OR q.id = ANY(CAST(:ids AS uuid[])))
       AND (CAST(:boroughs AS text[]) IS NULL OR q.borough_code = ANY(CAST(:boroughs AS text[])))
), near AS (
    SELECT a.id, r.categories, r.is_dark, r.occurred_on, r.source
      FROM asked a
      JOIN reports r
        ON r.geom && ST_Expand(a.g4326, :within / :metres_per_degree)
       AND ST_DWithin(ST_Transform(r.geom, 27700), a.g, :within)
     WHERE r.status = 'published'
       AND (CAST(:since AS date) IS NULL OR r.occurred_on >= CAST(:since AS date))
       AND (CAST(:until AS date) IS NULL OR r.occurred_on <= CAST(:until AS date))
)
SELECT a.id, a.reference, a.kind, a.status, a.borough_code, a.ward_code,
       count(n.id) AS total,
       count(n.id) FILTER (WHERE n.categories && CAST(:lighting AS text[])) AS lighting,
       count(n.id) FILTER (WHERE n.is_dark) AS dark,
       count(DISTINCT date_trunc('month', n.occurred_on)) AS months,
       count(n.id) FILTER (WHERE n.source = 'walk_concern') AS concerns
  FROM asked a LEFT JOIN near n ON n.id = a.id
 GROUP BY a.id, a.reference, a.kind, a.status, a.borough_code, a.ward_code
"""


def request_evidence(
    session: Session,
    *,
    within: float = 50.0,
    weights: EvidenceWeights | None = None,
    request_ids: Collection[uuid.UUID] | None = None,
    boroughs: Collection[str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> pd.DataFrame:
    """Each request's exact evidence, score and ranks (within its borough and its ward).

    Parameters
    ----------
    session : Session
        The caller's transaction.
    within : float
        Metres from the request's point, or its stretch, that a report may lie.
    weights : EvidenceWeights, optional
        The score's weights (defaults: :class:`EvidenceWeights`).
    request_ids, boroughs : optional
        Only these requests; only requests placed in these boroughs.
    since, until : date, optional
        Only reports of these days (inclusive).

    Returns
    -------
    pandas.DataFrame
        One row per request: ``id``, ``reference``, ``kind``, ``status``, ``borough_code``,
        ``ward_code``, the counts (``total``, ``lighting``, ``dark``, ``months``, and
        ``concerns``, the walk concerns among the total), ``score``, ``rank_in_borough`` and
        ``rank_in_ward`` (1 is the strongest; ties share a rank), best first.

    """
    if not within > 0:
        raise ValueError(f"within must be a positive number of metres, not {within}")
    weights = weights or EvidenceWeights()
    session.execute(text("SET LOCAL jit = off"))  # estimates for PostGIS calls are huge
    rows = session.execute(
        text(_EVIDENCE_SQL),
        {
            "within": within,
            "metres_per_degree": _METRES_PER_DEGREE_AT_LEAST,
            "ids": list(request_ids) if request_ids is not None else None,
            "boroughs": list(boroughs) if boroughs is not None else None,
            "since": since,
            "until": until,
            "lighting": list(LIGHTING_CATEGORIES),
        },
    ).all()
    columns = ["id", "reference", "kind", "status", "borough_code", "ward_code",
               *COUNTS, "concerns"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for name in (*COUNTS, "concerns"):
        frame[name] = frame[name].astype("int64")
    frame["score"] = (
        weights.total * frame["total"]
        + weights.lighting * frame["lighting"]
        + weights.dark * frame["dark"]
        + weights.months * frame["months"]
    ).astype("float64")
    frame["rank_in_borough"] = _rank(frame, "borough_code")
    frame["rank_in_ward"] = _rank(frame, "ward_code")
    return frame.sort_values(["score", "reference"], ascending=[False, True]).reset_index(
        drop=True
    )


def _rank(frame: pd.DataFrame, by: str) -> pd.Series:
    """Rank by score within each value of ``by`` (requests outside every area rank together)."""
    if frame.empty:
        return pd.Series([], dtype="int64")
    groups = frame[by].fillna("")
    return frame.groupby(groups)["score"].rank(method="min", ascending=False).astype("int64")


def before_and_after(
    session: Session,
    request_id: uuid.UUID,
    *,
    within: float = 50.0,
    today: date | None = None,
) -> dict[str, object] | None:
    """Reports near an installed request over equal periods before and after its install date.

    The periods run from the install date to today (at most :data:`MAX_COMPARISON_DAYS`), and
    as long before it; the install day itself is in neither. None when the request is not
    installed, or was installed today.
    """
    row = session.execute(
        text("SELECT installed_on FROM partner_requests WHERE id = :id AND status = 'installed'"),
        {"id": request_id},
    ).first()
    if row is None or row.installed_on is None:
        return None
    today = today or date.today()
    days = min((today - row.installed_on).days, MAX_COMPARISON_DAYS)
    if days < 1:
        return None
    installed = pd.Timestamp(row.installed_on)
    before = request_evidence(
        session,
        within=within,
        request_ids=[request_id],
        since=(installed - pd.Timedelta(days=days)).date(),
        until=(installed - pd.Timedelta(days=1)).date(),
    )
    after = request_evidence(
        session,
        within=within,
        request_ids=[request_id],
        since=(installed + pd.Timedelta(days=1)).date(),
        until=(installed + pd.Timedelta(days=days)).date(),
    )
    return {
        "installed_on": row.installed_on,
        "days_each_side": days,
        "before": int(before["total"].iloc[0]),
        "after": int(after["total"].iloc[0]),
    }


def protect_evidence(
    frame: pd.DataFrame, rule: DisclosureRule | None, columns: Sequence[str] = COUNTS
) -> pd.DataFrame:
    """The evidence as a viewer may see it: counts under k as "fewer than k", others rounded.

    ``rule`` None (supervisors) leaves the counts exact. The score and ranks are kept: they
    order requests without stating a count. The counts become text columns.
    """
    shown = frame.copy()
    if rule is None:
        return shown
    for name in columns:
        values, suppressed = protect(frame[name].to_numpy(), rule)
        shown[name] = np.where(
            suppressed, f"fewer than {rule.k}", np.char.mod("%d", np.nan_to_num(values))
        )
    return shown


def comparison_shown(
    comparison: dict[str, object] | None, rule: DisclosureRule | None
) -> dict[str, object] | None:
    """A before-and-after comparison as a viewer may see it: only where both sides reach k."""
    if comparison is None or rule is None:
        return comparison
    before, after = int(str(comparison["before"])), int(str(comparison["after"]))
    if before < rule.k or after < rule.k:
        return {**comparison, "before": None, "after": None, "suppressed": True}
    values, _ = protect([before, after], rule)
    return {**comparison, "before": int(values[0]), "after": int(values[1]), "suppressed": False}
