"""The one taxonomy of reasons a place feels unsafe, kept as data in one place.

Public reports, imports, walk concerns and every aggregate use these slugs; labels are what
people read. Add a category by adding a line here (and a migration if stored rows must change).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One reason a place feels unsafe."""

    slug: str
    label: str


CATEGORIES: tuple[Category, ...] = (
    Category("poor_lighting", "Poor or no street lighting"),
    Category("isolated", "Isolated or deserted"),
    Category("hidden_corners", "Hidden corners, overgrown or poor sight lines"),
    Category("loitering", "People loitering or groups"),
    Category("verbal_harassment", "Verbal harassment"),
    Category("followed", "Being followed"),
    Category("no_cctv", "No CCTV"),
    Category("underpass_alley_park_path", "Underpass, alley or park path"),
    Category("bus_stop_station", "Bus stop or station"),
    Category("neglected", "Run-down or neglected place"),
    Category("drug_alcohol_use", "Drug or alcohol use"),
    Category("other", "Other"),
)

SLUGS: frozenset[str] = frozenset(c.slug for c in CATEGORIES)
LABELS: dict[str, str] = {c.slug: c.label for c in CATEGORIES}

SOURCES = ("public", "imported", "walk_concern", "synthetic")
STATUSES = ("pending", "published", "hidden")
DARKNESS_BASES = ("exact_time", "time_band")
