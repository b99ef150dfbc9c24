"""JSON from the network: the one parser every request body (and every JSON part of an uploaded
archive or commit) goes through.

``json.loads`` alone accepts what no client sends and what costs the server dearly: ``NaN`` and
``Infinity`` (a token's ``expires_in_seconds: NaN`` would compare false with every bound), floats
that overflow to infinity (``1e400``), integers of thousands of digits, and nesting deep enough to
exhaust the interpreter's recursion limit (a 500). Here each of those is a precise
:class:`InvalidInputError`, and the size is bounded before parsing starts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from .errors import InvalidInputError, PayloadTooLargeError

MAX_DEPTH = 64
"""Nesting of objects and arrays; the deepest document a client sends here has 4 levels."""
MAX_INT_DIGITS = 20
"""Enough for any 64-bit integer (sizes, counts, timestamps)."""
MAX_FLOAT_CHARS = 40


def parse_json(data: bytes | str, max_bytes: int, what: str = "The request body") -> Any:
    """Parse ``data`` as strict JSON.

    Raises:
        PayloadTooLargeError: ``data`` is longer than ``max_bytes``.
        InvalidInputError: not JSON, a non-finite or over-long number, or nested too deeply.
    """
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"{what} is larger than {max_bytes} bytes.", limit=max_bytes)
    try:
        value = json.loads(
            data or b"null",
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise InvalidInputError(f"{what} is nested more than {MAX_DEPTH} levels deep.") from None
    except _NumberError as exc:
        raise InvalidInputError(f"{what} has {exc}.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(f"{what} is not valid JSON.") from None
    if _depth(value) > MAX_DEPTH:
        raise InvalidInputError(f"{what} is nested more than {MAX_DEPTH} levels deep.")
    return value


class _NumberError(Exception):
    """Raised from inside ``json.loads`` (not a ValueError, so it is not mistaken for bad JSON)."""


def _reject_constant(name: str) -> Any:
    raise _NumberError(f"a non-finite number ({name})")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NumberError(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_FLOAT_CHARS else math.inf
    if not math.isfinite(value):
        raise _NumberError(f"a number out of range ({text[:20]})")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of containers, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest
