"""What the access log may keep: method, path, status. Never who asked, from where, or what.

The report form promises "we do not record who you are, your device or your address", so the
client's address (and any ``X-Forwarded-For``) is not written, query strings (a looked-up place,
a filter) are cut, and survey-link secrets in paths are masked: a log kept longer than a link
lives must not let its readers answer in a buddy's name.
"""

from __future__ import annotations

import logging
import re

_SECRET_IN_PATH = re.compile(r"(/survey/)[A-Za-z0-9_-]+")
ACCESS_LOGGER = "uvicorn.access"


def private_path(path: str) -> str:
    """The path as the log may keep it: no query string, survey secrets masked.

    >>> private_path("/survey/abcDEF123_-?x=1")
    '/survey/…'
    """
    return _SECRET_IN_PATH.sub(r"\1…", path.split("?", 1)[0])


class PrivateAccessLog(logging.Filter):
    """Rewrites uvicorn's access-log line (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the address, cut the query, mask secrets; never drop the record."""
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, version, status = args
            record.args = ("-", method, private_path(str(path)), version, status)
        elif isinstance(args, tuple):
            record.args = tuple(private_path(a) if isinstance(a, str) else a for a in args)
        return True


def install_private_access_log() -> None:
    """Add the filter to uvicorn's access log once (apps are built many times in tests)."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, PrivateAccessLog) for f in access.filters):
        access.addFilter(PrivateAccessLog())
