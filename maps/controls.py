"""The controls panel of the aggregate map pages: filters, downloads and the way home.

A partner changes what a map shows with a plain HTML ``GET`` form on the map itself, so the
choice is in the page's URL and the map can be shared by copying it. The panel is pre-filled
with the page's current values; "Update map" reloads the page with the new ones. Beside the
form are download links for what the page shows, with the same query: GeoJSON, CSV (long and
wide) and GeoPackage from the page's export route, and PNG and PDF (the print routes: the
page's path plus ``.png`` / ``.pdf``).

:class:`MapControls` holds the values and the choices offered; :class:`ControlsPanel` draws
them as a Leaflet control that folds away on a phone. :class:`BackLink` is the way home on
pages without the panel (the walk map, the route editor). Nothing here reads a request or a
database: the routes pass the query as ``(name, value)`` pairs and the choices as
:class:`Option` lists.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from folium.elements import MacroElement
from folium.template import Template

from maps.control import MapBox

__all__ = [
    "FILTER_FIELDS",
    "BackLink",
    "ControlsPanel",
    "Download",
    "MapControls",
    "Option",
    "time_band_options",
]

#: The query parameters the panel's fields set; any other parameter of the page's URL (e.g.
#: ``crimes=true`` or ``bandwidth``) is kept as a hidden field, so updating keeps it.
FILTER_FIELDS = ("month_from", "month_to", "category", "time_band", "dark", "edge", "borough")

#: What the export routes write, in the order offered.
EXPORT_FORMATS = (("geojson", "GeoJSON"), ("csv", "CSV"), ("gpkg", "GeoPackage"))
PRINT_FORMATS = (("png", "PNG"), ("pdf", "PDF"))

#: A bar under the zoom buttons: the fields in a row or two (wrapping on a narrow screen), so
#: it stays short and the boxes in the other corners, and the panels stacked under it, keep
#: their room. 900 px wide at most: the layer control and crimes legend keep the right side.
_PANEL_CSS = """
.map-controls {
  background: rgba(255, 255, 255, 0.96); padding: 4px 10px 6px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 13px/1.4 sans-serif; color: #1a1a1a;
  max-width: min(900px, calc(100vw - 80px)); max-height: calc(100vh - 120px);
  overflow-y: auto; box-sizing: border-box;
}
.map-controls form {
  margin: 0; display: flex; flex-wrap: wrap; align-items: flex-end; gap: 4px 10px;
}
.map-controls .mc-field { display: flex; flex-direction: column; }
.map-controls .mc-field label { font-weight: 600; margin: 0; }
.map-controls .mc-month input { width: 9.5em; }
.map-controls input[type=month], .map-controls select {
  box-sizing: border-box; font: inherit; min-height: 28px;
}
.map-controls .mc-borough select { max-width: 15em; }
.map-controls label.mc-check { display: flex; align-items: center; gap: 6px; font-weight: normal;
  margin: 0; min-height: 28px; }
.map-controls details.mc-categories > summary { cursor: pointer; font-weight: 600;
  min-height: 28px; line-height: 28px; color: #0b4f8a; }
.map-controls details.mc-categories[open] { flex-basis: 100%; }
.map-controls fieldset { border: 0; margin: 0; padding: 0; min-width: 0;
  columns: 3 14em; column-gap: 12px; }
/* Folium's page loads Bootstrap, whose legend is a 1.5rem heading. */
.map-controls legend { font: inherit; font-weight: normal; font-style: italic; margin: 0 0 2px;
  float: none; width: auto; padding: 0; column-span: all; }
.map-controls .mc-actions { display: flex; align-items: center; gap: 10px; }
.map-controls button { font: inherit; font-weight: 600; padding: 3px 12px; min-height: 28px;
  background: #0b4f8a; color: #fff; border: 1px solid #083a66; border-radius: 3px;
  cursor: pointer; }
.map-controls a { color: #0b4f8a; }
.map-controls .mc-downloads { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 6px;
  margin-left: auto; }
.map-controls .mc-downloads ul { list-style: none; margin: 0; padding: 0;
  display: flex; flex-wrap: wrap; gap: 4px; }
.map-controls .mc-downloads a { display: inline-block; padding: 1px 6px; min-height: 24px;
  line-height: 22px; border: 1px solid #0b4f8a; border-radius: 3px; text-decoration: none;
  box-sizing: border-box; }
.map-controls :focus-visible, .map-back a:focus-visible { outline: 3px solid #c05800;
  outline-offset: 1px; }
"""

_BACK_CSS = """
.map-back {
  background: rgba(255, 255, 255, 0.96); padding: 4px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 14px/1.4 sans-serif;
}
.map-back a { color: #0b4f8a; display: inline-block; min-height: 24px; line-height: 24px; }
"""


@dataclass(frozen=True)
class Option:
    """One choice of a field: the value sent and the words shown."""

    value: str
    label: str


@dataclass(frozen=True)
class Download:
    """One download link: the format's name and the URL (with the page's query)."""

    label: str
    href: str


def time_band_options(bands: Iterable[str]) -> tuple[Option, ...]:
    """The time bands as choices: ``early_morning`` reads "Early morning".

    Examples
    --------
    >>> time_band_options(["early_morning"])
    (Option(value='early_morning', label='Early morning'),)

    """
    return tuple(Option(b, b.replace("_", " ").capitalize()) for b in bands)


@dataclass(frozen=True)
class MapControls:
    """What a map page's panel shows: the current choice, the choices, the downloads.

    Parameters
    ----------
    path : str
        The page's path, e.g. ``"/maps/hotspots"``: the form's action and the print routes'
        stem (``/maps/hotspots.png``).
    query : sequence of (str, str)
        The page's query as given, in order; the downloads carry it unchanged.
    borough_options : sequence of Option
        The boroughs the caller may choose (code, name).
    category_options : sequence of Option
        The report categories (slug, label); empty on a page without filters.
    time_band_options : sequence of Option
        The time bands; empty on a page without filters.
    edge_options : sequence of int
        The hexagon edges offered in metres; empty where the page has no cells.
    export_path : str, optional
        The export route's stem, e.g. ``"/hotspots"`` for ``/hotspots.geojson``; None: no
        data downloads.
    printable : bool
        Whether to link the PNG and PDF print routes.
    filters : bool
        False for a page that takes the borough only (the ward map).
    home : str
        Where "Home" goes.

    """

    path: str
    query: tuple[tuple[str, str], ...] = ()
    borough_options: tuple[Option, ...] = ()
    category_options: tuple[Option, ...] = ()
    time_band_options: tuple[Option, ...] = ()
    edge_options: tuple[int, ...] = ()
    scheme_options: tuple[Option, ...] = ()
    export_path: str | None = None
    printable: bool = True
    filters: bool = True
    home: str = "/"

    def __post_init__(self) -> None:
        # The paths go into href and action attributes; only site paths are linked.
        for what, value in (("path", self.path), ("export_path", self.export_path)):
            if value is not None and not (value.startswith("/") and not value.startswith("//")):
                raise ValueError(f"{what} must be a path on this site (/...), not {value!r}")

    @classmethod
    def for_page(
        cls,
        path: str,
        query: Iterable[tuple[str, str]],
        *,
        boroughs: Sequence[Option],
        categories: Sequence[Option] = (),
        time_bands: Sequence[Option] = (),
        edges: Sequence[int] = (),
        schemes: Sequence[Option] = (),
        export_path: str | None = None,
        printable: bool = True,
        filters: bool = True,
    ) -> MapControls:
        """The panel of the page at ``path`` opened with ``query`` (``(name, value)`` pairs)."""
        return cls(
            path=path,
            query=tuple((str(k), str(v)) for k, v in query),
            borough_options=tuple(boroughs),
            category_options=tuple(categories),
            time_band_options=tuple(time_bands),
            edge_options=tuple(int(e) for e in edges),
            scheme_options=tuple(schemes),
            export_path=export_path,
            printable=printable,
            filters=filters,
        )

    # --- the current choice, read back from the query ------------------------------------

    def values(self, name: str) -> list[str]:
        """Every value of parameter ``name`` in the page's query, blanks left out."""
        return [v for k, v in self.query if k == name and v.strip()]

    def value(self, name: str) -> str:
        """The last value of parameter ``name`` (the one a server reads), or ``""``."""
        found = self.values(name)
        return found[-1] if found else ""

    @property
    def dark(self) -> bool:
        """Whether "after dark only" is ticked (``dark`` as FastAPI reads a true bool)."""
        return self.value("dark").lower() in {"true", "1", "yes", "on"}

    @property
    def edge(self) -> int | None:
        """The hexagon edge chosen, or the page's default (500 m, else the first offered)."""
        if not self.edge_options:
            return None
        chosen = self.value("edge")
        if chosen.isdigit() and int(chosen) in self.edge_options:
            return int(chosen)
        return 500 if 500 in self.edge_options else self.edge_options[0]

    def kept(self) -> list[tuple[str, str]]:
        """The query values the panel has no field for, kept as hidden fields."""
        fields = FILTER_FIELDS if self.filters else ("borough",)
        if self.scheme_options:
            fields = (*fields, "classes")
        return [(k, v) for k, v in self.query if k not in fields]

    # --- the downloads --------------------------------------------------------------------

    def downloads(self) -> list[Download]:
        """Links to download what the page shows, each with the page's query."""
        query = urlencode(self.query)
        suffix = f"?{query}" if query else ""
        links = []
        if self.export_path is not None:
            links += [
                Download(label, f"{self.export_path}.{fmt}{suffix}")
                for fmt, label in EXPORT_FORMATS
            ]
            # The same CSV a row per ward or hexagon, a column per measure: as bids quote it.
            kept = [(k, v) for k, v in self.query if k != "layout"]
            wide = urlencode([*kept, ("layout", "wide")])
            links.insert(2, Download("Wide CSV", f"{self.export_path}.csv?{wide}"))
        if self.printable:
            links += [Download(label, f"{self.path}.{fmt}{suffix}") for fmt, label in PRINT_FORMATS]
        return links

    # --- the form -------------------------------------------------------------------------

    def form_html(self) -> str:
        """The panel's form, downloads and home link as HTML, every value escaped."""
        parts = [
            f'<form class="map-controls-form" method="get" action="{_attr(self.path)}" '
            'aria-label="Choose what the map shows">'
        ]
        parts += [
            f'<input type="hidden" name="{_attr(k)}" value="{_attr(v)}">' for k, v in self.kept()
        ]
        if self.filters:
            parts.append(self._period())
            parts.append(
                _select(
                    "time_band",
                    "Time of day",
                    [Option("", "Any time"), *self.time_band_options],
                    {self.value("time_band")},
                )
            )
            if self.edge_options:
                parts.append(
                    _select(
                        "edge",
                        "Hexagon size",
                        [Option(str(e), f"{e:,} m edge") for e in self.edge_options],
                        {str(self.edge)},
                    )
                )
        if self.scheme_options:
            chosen = self.value("classes") or self.scheme_options[0].value
            parts.append(_select("classes", "Map classes", self.scheme_options, {chosen}))
        parts.append(self._boroughs())
        if self.filters:
            checked = " checked" if self.dark else ""
            parts.append(
                '<label class="mc-check"><input type="checkbox" name="dark" value="true"'
                f"{checked}> After dark only</label>"
            )
            parts.append(self._categories())
        parts.append(
            '<div class="mc-actions"><button type="submit">Update map</button>'
            f'<a href="{_attr(self.home)}">&larr; Home</a></div>'
        )
        links = self.downloads()
        if links:
            items = "".join(
                f'<li><a href="{_attr(d.href)}" download>{html.escape(d.label)}</a></li>'
                for d in links
            )
            parts.append(
                '<div class="mc-downloads" role="group" aria-labelledby="mc-downloads-title">'
                '<span id="mc-downloads-title">Download what the map shows:</span>'
                f"<ul>{items}</ul></div>"
            )
        # The links sit in the form only to share its row; they are not fields.
        parts.append("</form>")
        return "".join(parts)

    def _period(self) -> str:
        fields = []
        for name, label in (("month_from", "From month"), ("month_to", "To month")):
            fields.append(
                f'<div class="mc-field mc-month"><label for="mc-{name}">{label}</label>'
                f'<input type="month" id="mc-{name}" name="{name}" min="2000-01" '
                f'value="{_attr(self.value(name))}" placeholder="YYYY-MM"></div>'
            )
        return "".join(fields)

    def _categories(self) -> str:
        chosen = set(self.values("category"))
        said = f"{len(chosen)} chosen" if chosen else "all"
        boxes = "".join(
            f'<label class="mc-check"><input type="checkbox" name="category" '
            f'value="{_attr(o.value)}"{" checked" if o.value in chosen else ""}> '
            f"{html.escape(o.label)}</label>"
            for o in self.category_options
        )
        # Folded: twelve categories would make the bar as tall as the map.
        return (
            '<details class="mc-categories"><summary>'
            f"Categories ({said})</summary>"
            "<fieldset><legend>Reports about any of (none ticked: all)</legend>"
            f"{boxes}</fieldset></details>"
        )

    def _boroughs(self) -> str:
        chosen = self.values("borough")
        known = {o.value for o in self.borough_options}
        options = list(self.borough_options)
        # A borough in the URL the list lacks (a typo, or one just removed) stays visible, so
        # the page says what it was asked for; the server's answer says what is wrong with it.
        options += [Option(b, b) for b in dict.fromkeys(chosen) if b not in known]
        if len(set(chosen)) > 1:
            # Several boroughs came in the URL: a list that keeps them all.
            return _select("borough", "Boroughs", options, set(chosen), multiple=True)
        # The aggregates' default is the caller's own boroughs (the public's, all); the ward
        # map's, every borough of the ward set.
        blank = Option("", "Default: your own (public: all)" if self.filters else "All boroughs")
        return _select("borough", "Borough", [blank, *options], set(chosen))


class ControlsPanel(MapBox):
    """The controls panel as a Leaflet control (``div.map-controls``), top left.

    It folds under "Filters and downloads": open on a laptop, closed on a phone. Blank fields
    are left out when the form is sent (a blank ``borough`` or ``time_band`` is refused by the
    aggregate routes), by a script :class:`_SkipBlankFields` adds once.
    """

    fold = "Filters and downloads"

    def __init__(self, controls: MapControls) -> None:
        self.controls = controls
        super().__init__(
            name="ControlsPanel", css_class="map-controls", css=_PANEL_CSS, position="topleft"
        )
        self.add_child(_SkipBlankFields())

    def inner_html(self) -> str:
        """The panel's content as HTML."""
        return self.controls.form_html()


class _SkipBlankFields(MacroElement):
    """Leave blank fields out of the form's URL; re-enable them when the page is shown again."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                document.addEventListener("submit", function (event) {
                    var form = event.target;
                    if (!form.classList || !form.classList.contains("map-controls-form")) {
                        return;
                    }
                    Array.prototype.forEach.call(form.elements, function (field) {
                        var blank = field.value === "" ||
                            (field.multiple && field.selectedOptions.length === 0);
                        if (field.name && blank) { field.disabled = true; }
                    });
                });
                // Back from the next page, the browser may restore the disabled fields.
                window.addEventListener("pageshow", function () {
                    document.querySelectorAll(".map-controls-form [disabled]").forEach(
                        function (field) { field.disabled = false; }
                    );
                });
            })();
        {% endmacro %}
        """
    )


class BackLink(MapBox):
    """A "Home" link on the map, top left, for pages without the controls panel."""

    def __init__(self, href: str = "/", label: str = "Home") -> None:
        if not (href.startswith("/") and not href.startswith("//")):
            raise ValueError(f"the back link must be a path on this site (/...), not {href!r}")
        self.href = href
        self.label = label
        super().__init__(name="BackLink", css_class="map-back", css=_BACK_CSS, position="topleft")

    def inner_html(self) -> str:
        """The link as HTML."""
        return f'<a href="{_attr(self.href)}">&larr; {html.escape(self.label)}</a>'


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _select(
    name: str, label: str, options: Sequence[Option], chosen: set[str], *, multiple: bool = False
) -> str:
    many = f' multiple size="{min(len(options), 4)}"' if multiple else ""
    rows = "".join(
        f'<option value="{_attr(o.value)}"{" selected" if o.value in chosen else ""}>'
        f"{html.escape(o.label)}</option>"
        for o in options
    )
    return (
        f'<div class="mc-field mc-{name.replace("_", "-")}">'
        f'<label for="mc-{name}">{html.escape(label)}</label>'
        f'<select id="mc-{name}" name="{name}"{many}>{rows}</select></div>'
    )
