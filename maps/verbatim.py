"""Rendered text is written out as it is: branca must not run it as a template a second time.

folium renders each element (its ``header``, ``html`` and ``script`` macros, a popup's body,
a tooltip's style), then hands the output to ``branca.element.Element(output)``, which compiles
that output as a Jinja template and renders it again when the page is put together. Whatever a
person typed is in that output: a request's title, a walk concern's note, a name in an
imported file, an upload's error. So "{{ 7*7 }}" in a title was drawn as 49, a lone "{%" made
every viewer of the map get a 500, and ``{{ lipsum.__globals__ ... }}`` reached Python's ``os``
module from a text field.

No code in branca or folium passes ``Element`` a template that is meant to be rendered: every
``Element(text)`` there wraps output already rendered, and this project's own ``Element(...)``
calls wrap fixed CSS and HTML escaped where it is built. So an ``Element`` made from a string
keeps that string and gives it back unchanged; Elements made otherwise (the page's header,
body and script containers, every subclass with a template of its own) render as before.
Compiling megabytes of GeoJSON as a template was also a fifth of a London map page's time.

Importing this module makes the change (``maps.page`` imports it, and every map is made
there); :func:`install` is idempotent.
"""

from __future__ import annotations

from typing import Any

from branca.element import Element

__all__ = ["install"]

_ORIGINAL_INIT = Element.__init__
_ORIGINAL_RENDER = Element.render


def _init(self: Element, template: str | None = None, template_name: str | None = None) -> None:
    # The text is kept, never compiled: branca's __init__ gets no template string.
    _ORIGINAL_INIT(self, None, template_name)
    self._template_str = template


def _render(self: Element, **kwargs: Any) -> str:
    text = self._template_str
    return text if text is not None else _ORIGINAL_RENDER(self, **kwargs)


def install() -> None:
    """Make ``Element(text)`` give ``text`` back as it is (done on import)."""
    Element.__init__ = _init  # type: ignore[method-assign]
    Element.render = _render  # type: ignore[method-assign]


install()
