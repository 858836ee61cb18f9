"""A walk's next steps, worked out from its row: what the officer has still to do, in order.

The "My work" page and the walk's own page both show them, so one function decides. It takes
plain values (no database, no HTTP) and answers the steps as (key, label, path) records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

PATROL = "patrol"

#: Where a walk stands, as "My work" groups them.
Stage = Literal["upcoming", "in_progress", "needs", "done"]


@dataclass(frozen=True)
class WalkState:
    """What the next steps depend on: one walk's row and whether its records exist."""

    id: uuid.UUID
    kind: str
    has_buddy: bool
    has_route: bool
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    closed_at: datetime | None
    safeguarding_answered: bool
    # Something was disclosed and the reference of the report it went into is not given yet.
    safeguarding_reference_due: bool
    officer_survey_done: bool
    patrol_recorded: bool
    buddy_link_sent: bool
    buddy_survey_done: bool


@dataclass(frozen=True)
class Step:
    """One thing to do next: a key for tests and styling, the button's words and its page."""

    key: str
    label: str
    path: str


def next_steps(walk: WalkState, now: datetime) -> list[Step]:
    """The walk's outstanding steps, in the order they are done.

    The route first (the briefing and the live page need it), then closing once the planned end
    has passed, then — after closing — the safeguarding answer (and, after a disclosure, the
    reference of the report it went into), the officer's survey (a
    patrol's record instead) and the buddy's survey.
    """
    steps: list[Step] = []
    base = f"/work/walks/{walk.id}"
    # A patrol may go where the groups are, so its route is drawn when it is known, not asked.
    if not walk.has_route and walk.kind != PATROL and walk.closed_at is None:
        steps.append(Step("route", "Draw the route", f"/walks/{walk.id}/route/edit"))
    # A disclosure's reference has a deadline: asked for as soon as it is due, closed or not.
    reference = Step(
        "safeguarding_reference", "Add the safeguarding reference", f"{base}/safeguarding"
    )
    if walk.closed_at is None:
        if walk.planned_end <= now:
            steps.append(Step("close", "Close the walk", f"{base}/close"))
        return steps + ([reference] if walk.safeguarding_reference_due else [])
    if not walk.safeguarding_answered:
        steps.append(
            Step("safeguarding", "Answer the safeguarding question", f"{base}/safeguarding")
        )
    elif walk.safeguarding_reference_due:
        steps.append(reference)
    if walk.kind == PATROL:
        if not walk.patrol_recorded:
            steps.append(Step("patrol", "Record the patrol", f"{base}/patrol"))
        return steps
    if not walk.officer_survey_done:
        steps.append(Step("officer_survey", "Fill in your survey", f"{base}/officer-survey"))
    if walk.has_buddy and not walk.buddy_survey_done:
        label = "Buddy's survey: not answered yet" if walk.buddy_link_sent else (
            "Send the buddy's survey"
        )
        key = "buddy_survey_wait" if walk.buddy_link_sent else "buddy_survey"
        steps.append(Step(key, label, f"/walks/{walk.id}/buddy-survey-link"))
    return steps


def stage(walk: WalkState, now: datetime) -> Stage:
    """Where the walk stands: upcoming, in progress, needing something, or done.

    Upcoming: not started and its planned end not passed; in progress: started, not closed.
    """
    if walk.closed_at is None and walk.actual_start is not None:
        return "in_progress"
    if walk.closed_at is None and walk.planned_end > now:
        return "upcoming"
    return "needs" if next_steps(walk, now) else "done"
