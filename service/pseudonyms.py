"""Buddy codes are pseudonyms: a code that looks like a phone number or an email is refused.

An officer typing a buddy's code is told to use a code such as "B-17". A phone number or an
email address typed there would put a woman's contact details in every walk, export and audit
line that carries the code, where the protected contact store was meant to keep them.
"""

from __future__ import annotations

import re
import secrets

# Characters a phone number is written with besides its digits.
_PHONE_PUNCTUATION = re.compile(r"[\s\-().+/]")
# No 0/O, 1/I/L: a code read out over the phone must not be mistaken.
UNAMBIGUOUS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_HINT = 'use a pseudonymous code such as "B-17", not contact details'


class NotAPseudonym(ValueError):
    """A buddy code that looks like contact details; the message says what to type instead."""


def check_buddy_code(code: str) -> str:
    """Return ``code`` stripped, or refuse one that looks like a phone number or an email.

    >>> check_buddy_code(" B-17 ")
    'B-17'
    >>> check_buddy_code("07700 900123")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    NotAPseudonym: buddy code '07700 900123' looks like a phone number
    """
    stripped = code.strip()
    if "@" in stripped:
        raise NotAPseudonym(f"buddy code {stripped!r} looks like an email address: {CODE_HINT}")
    digits = _PHONE_PUNCTUATION.sub("", stripped)
    if digits.isdigit() and len(digits) >= 7:
        raise NotAPseudonym(f"buddy code {stripped!r} looks like a phone number: {CODE_HINT}")
    return stripped


def new_code(prefix: str, length: int = 6) -> str:
    """A random code from unambiguous characters, e.g. ``new_code("WT-")`` → ``'WT-K7QX2M'``."""
    return prefix + "".join(secrets.choice(UNAMBIGUOUS) for _ in range(length))
