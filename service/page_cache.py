"""Map pages kept a few minutes once drawn, and forgotten when anything is written.

Drawing a map page over London's million reports takes seconds (the aggregates in PostGIS,
Gi* and its permutations, the GeoJSON folium writes), and the people who read these maps open
the same few again and again: a partner's borough, the public's London. :class:`PageCache`
keeps each page drawn for the same address and the same caller (the public share one copy;
a signed-in person's pages are her own, since they carry her name and scope) for
``page_cache_seconds``, within ``page_cache_mb`` of memory, least recently used dropped first.

Anything written through this service (every POST, PUT, PATCH or DELETE answered below 400:
a report sent, a request raised, a status changed, a file imported on a page) forgets every
page at once, so a person sees her own change on the next map she opens. What the service
cannot see (``walktalk`` commands run beside it, another worker process, the date moving on)
shows within ``page_cache_seconds``; an answer from the cache carries an ``Age`` header. With
a read replica, a page drawn just after a write may predate it (the replica replays writes a
moment later), so pages drawn within ``settle_seconds`` of one are not kept. A page from the
cache writes again the audit lines its drawing wrote: every read of exact counts is logged.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from service.auth import Principal
from service.db import primary_session
from service.queries import audit

__all__ = ["ForgetPagesOnWrite", "Page", "PageCache", "cached_page"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Page:
    """A drawn page, and the audit lines its drawing wrote (``(action, target)``)."""

    body: bytes
    audited: tuple[tuple[str, str], ...] = ()


class PageCache:
    """Drawn pages by key for ``seconds``, at most ``max_bytes`` of them; thread-safe.

    Two requests for the same page while it is being drawn draw it once: the second waits for
    the first. A page drawn while something was written is not kept, since it may predate the
    write; nor one drawn within ``settle_seconds`` of a write, for a read replica that may
    not have replayed it yet.

    Examples
    --------
    >>> cache = PageCache(seconds=60, max_bytes=1_000_000)
    >>> cache.page("a", lambda: Page(b"<p>drawn</p>"))
    (Page(body=b'<p>drawn</p>', audited=()), None)
    >>> page, age = cache.page("a", lambda: Page(b"<p>drawn again</p>"))
    >>> page.body, age is not None
    (b'<p>drawn</p>', True)
    >>> cache.changed()
    >>> cache.page("a", lambda: Page(b"<p>drawn again</p>"))[0].body
    b'<p>drawn again</p>'

    """

    def __init__(
        self,
        *,
        seconds: float,
        max_bytes: int,
        settle_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._pages: OrderedDict[Hashable, tuple[float, Page]] = OrderedDict()
        self._bytes = 0
        self._writes = 0
        self._written_at = -math.inf
        self._lock = threading.Lock()
        self._drawing: dict[Hashable, threading.Lock] = {}

    def page(self, key: Hashable, draw: Callable[[], Page]) -> tuple[Page, float | None]:
        """The page for ``key`` and its age in seconds, drawing it if none is kept (age None)."""
        if self.seconds <= 0:
            return draw(), None
        with self._lock:
            kept = self._kept(key)
            if kept is not None:
                return kept
            drawing = self._drawing.setdefault(key, threading.Lock())
        with drawing:
            with self._lock:
                kept = self._kept(key)
                writes = self._writes
            if kept is not None:
                return kept
            try:
                page = draw()
            finally:
                with self._lock:
                    self._drawing.pop(key, None)
            with self._lock:
                settled = self._clock() - self._written_at >= self.settle_seconds
                if writes == self._writes and settled:
                    self._keep(key, page)
        return page, None

    def changed(self) -> None:
        """Something was written: forget every page."""
        with self._lock:
            self._writes += 1
            self._written_at = self._clock()
            self._pages.clear()
            self._bytes = 0

    def _kept(self, key: Hashable) -> tuple[Page, float] | None:
        found = self._pages.get(key)
        if found is None:
            return None
        age = self._clock() - found[0]
        if age >= self.seconds:
            del self._pages[key]
            self._bytes -= len(found[1].body)
            return None
        self._pages.move_to_end(key)
        return found[1], age

    def _keep(self, key: Hashable, page: Page) -> None:
        if len(page.body) > self.max_bytes:
            return
        old = self._pages.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1].body)
        self._pages[key] = (self._clock(), page)
        self._bytes += len(page.body)
        while self._bytes > self.max_bytes:
            _, (_, dropped) = self._pages.popitem(last=False)
            self._bytes -= len(dropped.body)


def cached_page(
    request: Request,
    session: Session,
    principal: Principal,
    draw: Callable[[], str | bytes],
    *,
    media_type: str = "text/html; charset=utf-8",
) -> Response:
    """The page at this address for this caller, from the app's cache or drawn by ``draw``.

    A page from the cache writes the audit lines its drawing wrote (a supervisor's read of
    exact counts), in ``session``'s database or, from a replica, the primary's. ``draw`` may
    give the answer as bytes of ``media_type`` (the hot spots' GeoJSON) instead of HTML.
    """
    cache: PageCache = request.app.state.page_cache
    key = (request.url.path, tuple(sorted(request.query_params.multi_items())), principal)

    def drawn() -> Page:
        with audit.noted() as lines:
            body = draw()
        return Page(body.encode() if isinstance(body, str) else body, tuple(lines))

    page, age = cache.page(key, drawn)
    if age is None:
        return Response(page.body, media_type=media_type)
    if page.audited:
        with primary_session(session) as writer:
            for action, target in page.audited:
                audit.record(writer, principal, action, target)
    return Response(page.body, media_type=media_type, headers={"Age": str(int(age))})


class ForgetPagesOnWrite:
    """ASGI middleware: a write answered below 400 empties the app's page cache."""

    def __init__(self, app: Any, cache: PageCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on; on a write's answer below 400, forget the pages."""
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return

        written = False

        async def watch(message: Any) -> None:
            # Routes commit before they answer; forgetting again once the answer is sent also
            # covers a write that finishes while its answer goes out.
            nonlocal written
            if message["type"] == "http.response.start":
                written = message["status"] < 400
                if written:
                    self.cache.changed()
            await send(message)
            if written and message["type"] == "http.response.body" and not message.get(
                "more_body", False
            ):
                self.cache.changed()

        await self.app(scope, receive, send=watch)
