"""Printing map pages to A4 PNG and PDF in the machine's headless Chromium.

A print is the caller's own map page (built by the page route's function, so it shows exactly
what that caller may see) laid out by ``maps.printing`` and drawn by Chromium through
Playwright. Chromium is given the page at a made-up origin that is never looked up: every
request it makes is answered here, in-process — the page itself, Leaflet and its plugins from
``maps/vendor`` (``maps.assets.resolve_asset``), base-map tiles from PostGIS — and anything else
(an online tile server, a CDN) is refused, so a print makes no HTTP request to this service or
anywhere else and works with no network at all.

Browsers are kept open by a few worker threads (:class:`Printer`), started at the first print
and closed by the app's lifespan; each print draws in a fresh browser context. At most
``slots`` prints draw at once; Chromium takes a core and 150-250 MB while it draws.
"""

from __future__ import annotations

import base64
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from maps.assets import MissingAsset, UnknownAsset, resolve_asset
from maps.printing import SHEET_PX, MapSheet, print_layout
from service.errors import ServiceUnavailable
from service.exports import PrintFormat
from service.method_note import period_for
from service.queries import osm
from service.queries.aggregates import AggregateFilter

log = logging.getLogger("walktalk.printing")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: Where Chromium thinks the page is. ``.invalid`` names never resolve (RFC 2606): were a
#: request ever to slip past the handler, it would fail rather than reach anything.
ORIGIN = "http://walktalk.invalid"
ASSET_PREFIX = "/static/vendor/"
_TILE = re.compile(r"/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.mvt")
#: PNG pixels per CSS pixel: 2246 by 1588 for the A4 sheet (about 190 dpi), sharp on screen and
#: on paper, a few hundred kB to 2 MB.
PNG_SCALE = 2
LONDON = ZoneInfo("Europe/London")
#: A 1 x 1 transparent PNG.
CLEAR_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
)

#: Reads one base-map tile: ``(z, x, y) -> Mapbox Vector Tile bytes``.
TileReader = Callable[[int, int, int], bytes]


def database_tiles(engine: Engine) -> TileReader:
    """Base-map tiles read from PostGIS with a session of their own for each tile."""

    def read(z: int, x: int, y: int) -> bytes:
        with Session(engine) as session:
            return osm.vector_tile(session, z, x, y)

    return read


def sheet_period(session: Session, selection: AggregateFilter) -> list[str]:
    """A printed aggregate's period (always in months) and its filters in words.

    The header of the sheet: the method note's period sentence, then the filters.
    """
    return [
        period_for(session, selection).sentence(),
        "Filters: " + "; ".join(selection.describe()) + ".",
    ]


class Printer:
    """Prints map sheets with Chromium: a few worker threads, each with a browser kept open.

    A worker starts its browser at its first print and keeps it (a launch takes 0.5 to 2.5 s
    here, most of a print); each print gets a fresh browser context, so nothing of one print
    is left for the next. Playwright's objects belong to the thread that made them, so each
    worker owns its browser from launch to close. The app's lifespan calls :meth:`close`.

    Parameters
    ----------
    executable : Path
        Chromium's binary; Playwright never downloads a browser here.
    slots : int
        Prints drawn at once (worker threads, browsers); others queue, up to ``wait_s``.
    wait_s : float
        How long a print may wait for a free worker.
    timeout_s : float
        How long a page may take to load and draw.

    """

    def __init__(
        self,
        executable: Path = CHROMIUM,
        *,
        slots: int = 2,
        wait_s: float = 30.0,
        timeout_s: float = 60.0,
    ) -> None:
        self.executable = executable
        self.slots = slots
        self.wait_s = wait_s
        self.timeout_s = timeout_s
        self._jobs: queue.Queue[tuple[Future[bytes], _Job] | None] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self._idle = 0  # workers waiting for a job

    def print(
        self,
        sheet: MapSheet,
        fmt: PrintFormat,
        *,
        path: str,
        query: str = "",
        assets_dir: Path,
        tiles: TileReader,
    ) -> bytes:
        """The sheet as an A4 landscape PNG or a one-page PDF.

        Parameters
        ----------
        sheet : MapSheet
            The caller's map page and the words around it.
        fmt : "png" or "pdf"
            What to make.
        path : str
            The page's path, e.g. ``/maps/hotspots``: relative links resolve against it.
        query : str
            The page's query string, so its scripts see the URL its page has.
        assets_dir : Path
            Where the npm-installed map assets are.
        tiles : TileReader
            Reads a base-map tile (from PostGIS: :func:`database_tiles`).

        Raises
        ------
        ServiceUnavailable
            Chromium is not installed or did not start, every worker stayed busy, the page
            did not finish drawing in time, or the service is shutting down.

        """
        if not self.executable.exists():
            raise ServiceUnavailable(
                f"printing maps needs Chromium at {self.executable}, which is not installed: "
                "install it with `sudo apt-get install chromium` (Debian/Ubuntu)"
            )
        started = time.perf_counter()
        url = f"{path}?{query}" if query else path
        page = print_layout(sheet, printed_at=datetime.now(LONDON))
        job: Future[bytes] = Future()
        self._enqueue(job, _Job(page, fmt, path, url, assets_dir, tiles))
        try:
            body = job.result(timeout=self.wait_s + self.timeout_s)
        except FutureTimeout:
            job.cancel()  # still queued: never drawn; drawing: its worker's timeout ends it
            raise ServiceUnavailable(
                f"printing is busy ({self.slots} at a time) and this map was not drawn within "
                f"{self.wait_s + self.timeout_s:.0f} s: try again in a minute"
            ) from None
        log.info("printed %s as %s in %.2f s", path, fmt, time.perf_counter() - started)
        return body

    def close(self) -> None:
        """Stop the workers and close their browsers (prints already queued are drawn)."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for _ in workers:
            self._jobs.put(None)
        for worker in workers:
            worker.join(timeout=self.timeout_s)

    def _enqueue(self, job: Future[bytes], work: _Job) -> None:
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("the service is shutting down: print again in a minute")
            self._jobs.put((job, work))
            # One more browser only when more prints wait than browsers are free: a warm
            # browser is the fastest print, and each one holds 150-250 MB.
            if self._jobs.qsize() > self._idle and len(self._workers) < self.slots:
                worker = threading.Thread(
                    target=self._work, name=f"print-{len(self._workers)}", daemon=True
                )
                self._idle += 1
                worker.start()
                self._workers.append(worker)

    def _work(self) -> None:
        """A worker's life: take jobs, keep one browser, close it when told to stop."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright

        playwright: Any = None
        browser: Any = None
        try:
            while (item := self._jobs.get()) is not None:
                with self._lock:
                    self._idle -= 1
                job, work = item
                try:
                    if not job.set_running_or_notify_cancel():
                        continue  # its asker gave up waiting
                    if browser is None or not browser.is_connected():
                        playwright = playwright or sync_playwright().start()
                        browser = playwright.chromium.launch(
                            executable_path=str(self.executable),
                            args=list(CHROMIUM_FLAGS),
                            headless=True,
                        )
                    job.set_result(self._draw(browser, work))
                except PlaywrightTimeout:
                    job.set_exception(
                        ServiceUnavailable(
                            f"the map took more than {self.timeout_s:.0f} s to draw for "
                            "printing: try again, or print a smaller area (fewer boroughs, "
                            "larger cells)"
                        )
                    )
                except PlaywrightError as exc:
                    job.set_exception(
                        ServiceUnavailable(
                            f"Chromium at {self.executable} could not print the map "
                            f"({exc.message}); check that `chromium --headless` runs here"
                        )
                    )
                except Exception as exc:  # handed to the request that asked, not lost here
                    job.set_exception(exc)
                finally:
                    with self._lock:
                        self._idle += 1
        finally:
            if browser is not None and browser.is_connected():
                browser.close()
            if playwright is not None:
                playwright.stop()

    def _draw(self, browser: Any, work: _Job) -> bytes:
        refused: list[str] = []
        # Playwright answers requests on an event loop in this thread; the database refuses
        # work there (service.db), so tiles are read on a thread of their own.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="print-tiles") as reader:
            answer = InProcessRequests(
                work.page, work.path, work.assets_dir, work.tiles, reader, refused
            )
            return self._capture(browser, answer, work.fmt, work.url, refused)

    def _capture(
        self,
        browser: Any,
        answer: InProcessRequests,
        fmt: PrintFormat,
        url: str,
        refused: list[str],
    ) -> bytes:
        width, height = SHEET_PX
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=PNG_SCALE if fmt == "png" else 1,
            java_script_enabled=True,
        )
        context.set_default_timeout(self.timeout_s * 1000)
        try:
            page = context.new_page()
            page.route("**/*", answer)
            page.goto(ORIGIN + url, wait_until="load")
            # Tiles and images are fetched after the load event; the base map says when the
            # tiles in view are drawn (maps/static/basemap.js), other pages have none.
            page.wait_for_load_state("networkidle")
            page.wait_for_function("() => !window.walktalkBasemap || window.walktalkBasemap.drawn")
            if refused:
                _say_what_was_not_printed(page, refused)
            if fmt == "pdf":
                # Type is set a little tighter on paper than on screen: fit it as printed.
                page.emulate_media(media="print")
            cut = page.evaluate("() => window.walktalkPrint.arrange()")
            if cut:
                log.warning("printed %s with words cut off in %s", url, ", ".join(cut))
            if fmt == "png":
                return bytes(page.screenshot(type="png"))
            return bytes(
                page.pdf(
                    format="A4",
                    landscape=True,
                    print_background=True,
                    prefer_css_page_size=True,
                )
            )
        finally:
            context.close()


def _say_what_was_not_printed(page: Any, refused: list[str]) -> None:
    hosts = sorted({urlsplit(url).netloc or url for url in refused})
    page.evaluate(
        """hosts => {
            const p = document.createElement("p");
            p.className = "print-refused";
            p.textContent = "Not printed: what this page loads from " + hosts.join(", ") +
                " (a print uses only what this service holds).";
            document.querySelector(".print-panel").appendChild(p);
        }""",
        hosts,
    )


@dataclass(frozen=True)
class _Job:
    """One print for a worker: the laid-out page and where it is."""

    page: str
    fmt: PrintFormat
    path: str
    url: str
    assets_dir: Path
    tiles: TileReader


class InProcessRequests:
    """A Playwright route handler answering every request of a printed page in-process.

    The page at ``ORIGIN + path``, ``/static/vendor/...`` from the assets folder and
    ``/tiles/{z}/{x}/{y}.mvt`` from ``tiles`` (read on ``reader``'s thread); any other origin
    is refused and listed in ``refused``, any other path of ours answered 404.
    """

    def __init__(
        self,
        page_html: str,
        path: str,
        assets_dir: Path,
        tiles: TileReader,
        reader: ThreadPoolExecutor,
        refused: list[str],
    ) -> None:
        self.page_html = page_html
        self.path = path
        self.assets_dir = assets_dir
        self.tiles = tiles
        self.reader = reader
        self.refused = refused

    def __call__(self, route: Any) -> None:
        """Answer one request (a Playwright ``Route``)."""
        url = urlsplit(route.request.url)
        if url.scheme == "data":
            route.continue_()
            return
        if f"{url.scheme}://{url.netloc}" != ORIGIN:
            self.refused.append(route.request.url)
            if route.request.resource_type == "image":
                # An online tile: a clear pixel, not a broken-image icon on the paper.
                route.fulfill(status=200, content_type="image/png", body=CLEAR_PIXEL)
            else:
                route.abort("blockedbyclient")
            return
        if url.path == self.path:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self.page_html)
        elif url.path.startswith(ASSET_PREFIX):
            self._asset(route, url.path[len(ASSET_PREFIX) :])
        elif tile := _TILE.fullmatch(url.path):
            self._tile(route, *(int(n) for n in tile.groups()))
        else:
            # Nothing else of this service is a map's resource; a page that needs more shows
            # up here, in the log, rather than printing half drawn in silence.
            log.warning("a printed page asked for %s, which prints do not serve", url.path)
            route.fulfill(status=404, content_type="text/plain", body="not served to prints")

    def _asset(self, route: Any, name: str) -> None:
        try:
            file = resolve_asset(name, self.assets_dir)
        except (UnknownAsset, MissingAsset) as exc:
            route.fulfill(status=404, content_type="text/plain", body=str(exc))
            return
        route.fulfill(status=200, path=str(file))

    def _tile(self, route: Any, z: int, x: int, y: int) -> None:
        if z > osm.MAX_ZOOM or x >= 2**z or y >= 2**z:
            route.fulfill(status=404, content_type="text/plain", body="no such tile")
            return
        body = self.reader.submit(self.tiles, z, x, y).result()
        route.fulfill(status=200, content_type="application/vnd.mapbox-vector-tile", body=body)
