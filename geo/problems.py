"""A tally of the bad rows of one input file: counted per kind, the first few of each kept.

A file of a million bad rows has a million problems, most of them alike. Listing them all
costs gigabytes and buries the two or three things that are actually wrong, so an import
keeps, per *kind* of problem, how many rows have it and the first :data:`SHOWN_PER_KIND` of
them; every problem may still go to a sink (a rejects file) as it is found. Counts are of
rows: a row with four faults is one bad row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from geo.reports import RowProblem

__all__ = ["SHOWN_PER_KIND", "KindTally", "ProblemTally", "problem_kind"]

#: How many rows of each kind of problem are kept to show.
SHOWN_PER_KIND: Final = 10

# A quoted value as repr() spells it, or a number written in a message: the parts of a
# reason that change from row to row. The colon ends the description of what is wrong.
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")
_NUMBER = re.compile(r"(?<![\w'])[-+]?\d[\w.+-]*")
_SPACES = re.compile(r"\s+")


def problem_kind(reason: str) -> str:
    """The kind of a problem: its reason up to the first colon, without the row's values.

    Examples
    --------
    >>> problem_kind("longitude 'abc' is not a number: give degrees east in [-180, 180]")
    'longitude is not a number'
    >>> problem_kind("text is 1204 characters long after cleaning: shorten it")
    'text is characters long after cleaning'

    """
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, not {type(reason).__name__}")
    masked = _NUMBER.sub("", _QUOTED.sub("", reason))
    head = masked.split(":", 1)[0]
    return _SPACES.sub(" ", head).strip() or reason


@dataclass
class KindTally:
    """One kind of problem: how many rows have it, and the first rows that do."""

    kind: str
    rows: int = 0
    first: list[RowProblem] = field(default_factory=list)


class ProblemTally:
    """The bad rows of one file, counted per kind, with the first rows of each kind kept.

    Parameters
    ----------
    keep : int, default SHOWN_PER_KIND
        How many rows of each kind to keep for showing.
    sink : callable, optional
        Called with every problem as it is added (e.g. to write a rejects file), so that the
        full list never has to be held.

    Examples
    --------
    >>> tally = ProblemTally(keep=1)
    >>> tally.add([RowProblem(2, "latitude '' is blank: give one"),
    ...            RowProblem(2, "unknown category 'x': use one of a"),
    ...            RowProblem(3, "unknown category 'y': use one of a")])
    >>> tally.bad_rows, [(k.kind, k.rows) for k in tally.kinds()]
    (2, [('unknown category', 2), ('latitude is blank', 1)])
    >>> [p.line for p in tally.shown()]
    [2, 2]

    """

    def __init__(
        self, *, keep: int = SHOWN_PER_KIND, sink: Callable[[RowProblem], None] | None = None
    ) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep must be a whole number >= 0, not {keep!r}")
        self.keep = keep
        self.bad_rows = 0
        self._sink = sink
        self._kinds: dict[str, KindTally] = {}

    def add(self, problems: Iterable[RowProblem], *, kind: str | None = None) -> None:
        """Count one batch of problems, from rows no earlier batch had.

        Batches must not share rows (each chunk of a file, then the rows found outside the
        service area among the good ones), so the rows are counted per batch. ``kind``
        names the kind of every problem in the batch; by default each reason's own
        (:func:`problem_kind`).
        """
        rows: set[int] = set()
        seen: set[tuple[str, int]] = set()
        for problem in problems:
            if self._sink is not None:
                self._sink(problem)
            rows.add(problem.line)
            name = kind if kind is not None else problem_kind(problem.reason)
            if (name, problem.line) in seen:
                continue
            seen.add((name, problem.line))
            tally = self._kinds.get(name)
            if tally is None:
                tally = self._kinds[name] = KindTally(name)
            tally.rows += 1
            if len(tally.first) < self.keep:
                tally.first.append(problem)
        self.bad_rows += len(rows)

    def kinds(self) -> list[KindTally]:
        """Every kind found, the commonest first (ties in the order they were first found)."""
        return sorted(self._kinds.values(), key=lambda tally: -tally.rows)

    def shown(self) -> list[RowProblem]:
        """The rows kept to show, in line order."""
        kept = [problem for tally in self._kinds.values() for problem in tally.first]
        return sorted(kept, key=lambda problem: problem.line)

    def summary(self, file_name: str) -> list[str]:
        """Lines for a person: each kind with its row count, then its first rows."""
        lines: list[str] = []
        for tally in self.kinds():
            more = tally.rows - len(tally.first)
            lines.append(
                f"{file_name}: {tally.kind}: {tally.rows:,} rows"
                + (f" (the first {len(tally.first)} shown)" if more > 0 else "")
            )
            lines.extend(f"{file_name}: line {p.line}: {p.reason}" for p in tally.first)
        return lines
