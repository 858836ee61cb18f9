"""Safe pieces of HTML and JavaScript shared by the map pages' controls."""

from __future__ import annotations

import json


def js_literal(value: str) -> str:
    r"""Return ``value`` as a JavaScript string literal that is safe inside a ``<script>``.

    ``<``, ``>`` and ``&`` are written as ``\u`` escapes so that no value, however it was
    spelled, can close the script element or open a comment.

    Examples
    --------
    >>> js_literal("</script>")
    '"\\u003c/script\\u003e"'

    """
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
