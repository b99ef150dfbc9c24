"""Fetch capabilities: URLs that serve exact byte ranges of one xorb, and nothing else.

hf_xet sends no credential to a fetch URL (protocol brief §1.3 step 4), so the URL is the
credential: an HMAC over (xorb hash, the exact serialized byte ranges a reconstruction needs,
expiry). A request is served only if each range it asks for lies inside one signed range, so a
URL issued for one file's chunks never reaches a neighbour's chunks in the same (deduplicated)
xorb. Expiry is short; a refused or expired URL makes the client ask for a new reconstruction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...errors import PermissionDeniedError

MAX_RANGES = 64
"""Ranges one URL signs (and one request may ask for): a xorb that needs more gets more URLs."""
MAX_SPEC_CHARS = MAX_RANGES * 42  # 64 x "<19 digits>-<19 digits>,"
_SPEC = re.compile(r"^\d{1,19}-\d{1,19}(?:,\d{1,19}-\d{1,19})*$")
_RANGE_HEADER = re.compile(r"^bytes=(\d{1,19}-\d{1,19}(?:,\s*\d{1,19}-\d{1,19})*)$")

ByteRanges = tuple[tuple[int, int], ...]
"""Byte ranges ``(first, last)``, end-inclusive as in HTTP."""


@dataclass(frozen=True)
class FetchCapability:
    """The query of a fetch URL: ``r`` ranges, ``e`` expiry (unix seconds), ``s`` signature."""

    ranges: str
    expires: int
    signature: str

    def query(self) -> str:
        return f"r={self.ranges}&e={self.expires}&s={self.signature}"


class FetchSigner:
    def __init__(
        self, key: bytes, ttl_seconds: int = 300, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self._ttl = ttl_seconds
        self._clock = clock

    def _mac(self, xorb_hash: str, ranges: str, expires: int) -> str:
        msg = f"xet-fetch|{xorb_hash}|{ranges}|{expires}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def sign(self, xorb_hash: str, ranges: Sequence[tuple[int, int]]) -> FetchCapability:
        if not 0 < len(ranges) <= MAX_RANGES:
            raise ValueError(f"a fetch URL signs 1..{MAX_RANGES} ranges, not {len(ranges)}")
        spec = ",".join(f"{a}-{b}" for a, b in ranges)
        expires = int(self._clock()) + self._ttl
        return FetchCapability(spec, expires, self._mac(xorb_hash, spec, expires))

    def verify(self, xorb_hash: str, ranges: str, expires: str, signature: str) -> ByteRanges:
        """The signed ranges of a valid, unexpired capability.

        Raises:
            PermissionDeniedError (403): forged, altered or expired; the client re-queries.
        """
        if len(ranges) > MAX_SPEC_CHARS or not _SPEC.match(ranges) or not expires.isdigit():
            raise PermissionDeniedError("Invalid fetch URL: ask for a new reconstruction.")
        if len(expires) > 12 or not hmac.compare_digest(
            self._mac(xorb_hash, ranges, int(expires)), signature
        ):
            raise PermissionDeniedError("Invalid fetch URL: its signature does not match.")
        if int(expires) < self._clock():
            raise PermissionDeniedError("Fetch URL expired: ask for a new reconstruction.")
        return _pairs(ranges)


def requested_ranges(header: str | None, signed: ByteRanges) -> ByteRanges:
    """The ranges a fetch asks for (``Range: bytes=a-b[,c-d…]``; none: the signed ones), each
    inside one signed range.

    Raises:
        PermissionDeniedError (403): malformed, too many, or outside what was signed.
    """
    if header is None:
        return signed
    m = _RANGE_HEADER.match(header.strip())
    if m is None or len(m.group(1)) > MAX_SPEC_CHARS:
        raise PermissionDeniedError("Fetch URLs serve byte ranges 'bytes=a-b[,c-d]' only.")
    wanted = _pairs(m.group(1).replace(" ", ""))
    if len(wanted) > MAX_RANGES:
        raise PermissionDeniedError(f"At most {MAX_RANGES} ranges per fetch.")
    for a, b in wanted:
        if a > b or not any(s <= a and b <= e for s, e in signed):
            raise PermissionDeniedError(
                f"Range {a}-{b} lies outside what this fetch URL was issued for."
            )
    return wanted


def _pairs(spec: str) -> ByteRanges:
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.append((int(a), int(b)))
    return tuple(out)
