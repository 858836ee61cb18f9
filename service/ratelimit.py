"""An in-memory, per-client rate limit for anonymous submissions.

The client's address is used only as a key in this process's memory for one window and is
never written anywhere: reports stay anonymous. One process, one limit; behind several
workers each keeps its own count (documented, acceptable for a pilot).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from service.errors import TooManyRequests


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds per key (sliding window)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one call for ``key``, or refuse it with 429 and when to retry."""
        now = self.clock()
        with self._lock:
            # Forget idle clients so memory holds only the current window's addresses.
            for stale in [k for k, q in self._seen.items() if q and now - q[-1] >= self.window]:
                del self._seen[stale]
            calls = self._seen.setdefault(key, deque())
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                retry = int(self.window - (now - calls[0])) + 1
                raise TooManyRequests(
                    f"too many reports from this connection: at most {self.limit} a minute; "
                    f"try again in {retry} s",
                    retry_after=retry,
                )
            calls.append(now)
