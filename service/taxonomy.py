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


@dataclass(frozen=True)
class CategoryGroup:
    """Categories that call for the same kind of answer, counted together in themes."""

    slug: str
    label: str
    members: tuple[str, ...]


#: Every category in exactly one group. Themes count by group by default: twelve categories
#: cut a ward's month into cells too small to show (k = 10), three groups do not. Each group
#: is what one partner acts on: lighting, CCTV and sight lines (the council's street and
#: parks teams), people's behaviour (police and community safety), and the place itself
#: (transport, estates, repairs).
CATEGORY_GROUPS: tuple[CategoryGroup, ...] = (
    CategoryGroup(
        "lighting_visibility",
        "Lighting, visibility and isolation",
        ("poor_lighting", "isolated", "hidden_corners", "no_cctv"),
    ),
    CategoryGroup(
        "harassment_behaviour",
        "Harassment and behaviour",
        ("loitering", "verbal_harassment", "followed", "drug_alcohol_use"),
    ),
    CategoryGroup(
        "places_environment",
        "Places and environment (and other)",
        ("underpass_alley_park_path", "bus_stop_station", "neglected", "other"),
    ),
)
GROUP_OF: dict[str, str] = {m: g.slug for g in CATEGORY_GROUPS for m in g.members}
GROUP_LABELS: dict[str, str] = {g.slug: g.label for g in CATEGORY_GROUPS}


@dataclass(frozen=True)
class Action:
    """Something an officer can set in motion after hearing the buddy out."""

    slug: str
    label: str


#: What the officer's survey can say should happen next: the fixes partners are asked for
#: (lighting, CCTV, vegetation, repairs) and what the police do themselves.
ACTIONS: tuple[Action, ...] = (
    Action("lighting", "Ask for better street lighting"),
    Action("cctv", "Ask for CCTV"),
    Action("vegetation", "Ask for vegetation to be cut back"),
    Action("repairs", "Report repairs or neglect (paths, fences, graffiti)"),
    Action("patrols", "Plan patrols at the times raised"),
    Action("partner_referral", "Refer to a council or partner service"),
    Action("follow_up", "Follow up with the buddy"),
    Action("other", "Other"),
)
ACTION_SLUGS: frozenset[str] = frozenset(a.slug for a in ACTIONS)

SOURCES = ("public", "imported", "walk_concern", "synthetic")
STATUSES = ("pending", "published", "hidden")
DARKNESS_BASES = ("exact_time", "time_band")
