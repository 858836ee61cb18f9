"""An in-memory, per-client rate limit for anonymous submissions.

The client's address is never kept, not even in memory: the limiter holds a keyed hash of it
(the key is random per process and never leaves it) for one window, then forgets it. Reports
stay anonymous. One process, one limit; behind several workers each keeps its own count
(documented, acceptable for a pilot).

Which address is the client's: the connection's own, unless the connection comes from a
reverse proxy named in ``WALKTALK_TRUSTED_PROXIES``; only then is ``X-Forwarded-For`` read,
from the right, skipping the trusted proxies. A header anyone can set must not let a client
pick a new identity per request and walk past the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Collection

from service.errors import TooManyRequests


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds per key (sliding window)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[bytes, deque[float]] = {}
        self._lock = threading.Lock()
        self._salt = secrets.token_bytes(32)

    def check(self, address: str) -> None:
        """Count one call from ``address``, or refuse it with 429 and when to retry."""
        key = hmac.new(self._salt, address.encode(), hashlib.sha256).digest()
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


def client_address(peer: str | None, forwarded_for: str | None, trusted: Collection[str]) -> str:
    """The address a request came from, believing ``X-Forwarded-For`` only from ``trusted``.

    >>> client_address("127.0.0.1", "203.0.113.9", trusted=())
    '127.0.0.1'
    >>> client_address("10.0.0.5", "203.0.113.9, 10.0.0.6", trusted=("10.0.0.5", "10.0.0.6"))
    '203.0.113.9'
    """
    address = peer or "unknown"
    if address not in trusted or not forwarded_for:
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a garbled header is the proxy's problem, not a new identity
        if hop not in trusted:
            return hop
    return address
