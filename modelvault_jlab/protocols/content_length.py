"""A request's declared ``Content-Length``, read once, the same way everywhere.

``str.isdigit`` accepts non-ASCII digits (``"²"`` is a digit to it, and headers are latin-1), and
``int()`` of a string of thousands of digits raises: either turned a hostile header into a 500.
"""

from __future__ import annotations

import re

LENGTH_CAP = 10**18
"""Larger declared lengths read as this: every limit is far below, and no number is built."""

_ASCII_DIGITS = re.compile(r"[0-9]+")


def declared_length(value: str | None) -> int | None:
    """The value of a ``Content-Length`` header: ASCII digits only, capped at ``LENGTH_CAP``;
    None when absent or not a plain non-negative number (the HTTP layer refuses those)."""
    if value is None or not _ASCII_DIGITS.fullmatch(value):
        return None
    digits = value.lstrip("0")
    return LENGTH_CAP if len(digits) > len(str(LENGTH_CAP)) else min(int(digits or "0"), LENGTH_CAP)


__all__ = ["LENGTH_CAP", "declared_length"]
