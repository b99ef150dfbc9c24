"""Bounded streaming decompression: no call ever produces more than the caller asked for.

``zlib.decompressobj().decompress(chunk)`` without ``max_length`` turns 1 MiB of a deflate bomb
into 1 GiB in one call, before any budget can look at it. Every decompressor here takes a
``max_length`` (zlib, bz2, lzma natively; zip's LZMA header is parsed here so the raw LZMA
decoder can be bounded too; deflate64 has no bound, so it is fed small input slices whose worst
expansion is a few MiB).
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from .stream import Window

INPUT_CHUNK = 64 << 10
_DEFLATE64_SLICE = 256  # deflate64 expands at most ~20000x: 256 bytes -> ~5 MiB


class BoundedDecompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, /, max_length: int = -1) -> bytes: ...


class _Zlib:
    """``zlib.decompressobj`` with the bz2/lzma interface (pending input stays inside)."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)
        self._pending_output = False

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail and not self._pending_output

    def decompress(self, data: bytes, /, max_length: int = -1) -> bytes:
        out = self._d.decompress(self._d.unconsumed_tail + data, max(max_length, 0))
        # Output exactly at the bound: inflate may still hold output for the consumed input.
        self._pending_output = max_length > 0 and len(out) == max_length
        return out


class _ZipLzma:
    """Zip method 14: a 4-byte header and LZMA1 properties, then a raw LZMA stream."""

    def __init__(self) -> None:
        self._head = b""
        self._d: Any = None

    @property
    def eof(self) -> bool:
        return bool(self._d is not None and self._d.eof)

    @property
    def needs_input(self) -> bool:
        return self._d is None or bool(self._d.needs_input)

    def decompress(self, data: bytes, /, max_length: int = -1) -> bytes:
        if self._d is None:
            self._head += data
            if len(self._head) < 4:
                return b""
            (psize,) = struct.unpack("<H", self._head[2:4])
            if len(self._head) < 4 + psize:
                return b""
            props = self._head[4 : 4 + psize]
            self._d = lzma.LZMADecompressor(
                lzma.FORMAT_RAW,
                filters=[lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)],  # type: ignore[attr-defined]
            )
            data, self._head = self._head[4 + psize :], b""
        return bytes(self._d.decompress(data, max_length))


class _Sliced:
    """A decompressor without an output bound, fed slices small enough to bound each call."""

    def __init__(self, inflate: Callable[[bytes], bytes]) -> None:
        self._inflate = inflate
        self._input = b""
        self.eof = False

    @property
    def needs_input(self) -> bool:
        return not self._input

    def decompress(self, data: bytes, /, max_length: int = -1) -> bytes:
        self._input += data
        piece, self._input = self._input[:_DEFLATE64_SLICE], self._input[_DEFLATE64_SLICE:]
        return self._inflate(piece) if piece else b""


def zip_decompressor(method: int) -> BoundedDecompressor | None:
    """A bounded decompressor for a zip compression method (None: not supported)."""
    if method == 8:
        return _Zlib(-15)
    if method == 12:
        return bz2.BZ2Decompressor()
    if method == 14:
        return _ZipLzma()
    if method == 9:
        try:
            import inflate64  # type: ignore[import-not-found]
        except ImportError:
            return None
        inflater = inflate64.Inflater()
        return _Sliced(lambda piece: bytes(inflater.inflate(piece)))
    return None


def zlib_decompressor() -> BoundedDecompressor:
    return _Zlib(zlib.MAX_WBITS)


def bounded_reader(src: Window, decomp: BoundedDecompressor) -> Callable[[int], bytes]:
    """A ``read(n)`` that pulls compressed bytes from ``src`` and returns at most ``n`` bytes.

    Returns ``b""`` at the end of the stream (or of the input: a truncated stream is scanned as
    far as it goes, as the loaders that read it would have acted on that much).
    """

    def read(n: int) -> bytes:
        while not decomp.eof:
            if decomp.needs_input:
                chunk = src.read(INPUT_CHUNK)
                if not chunk:
                    return decomp.decompress(b"", n)
            else:
                chunk = b""
            out = decomp.decompress(chunk, n)
            if out:
                return out
        return b""

    return read
