"""Compressed bytes, expanded under the scan's budgets: gzip, bz2, xz/lzma, zlib, lz4 and zstd
streams, and compressed zip members.

Compressed content is decompressed into a spooled temp file under the expansion-ratio and
total-size budgets, so bombs become findings (``archive-bomb`` + ``analysis-incomplete``), never
crashes or full disks. Also :class:`WindowIO`, a file object over a window for stdlib readers.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from .context import BudgetExceededError, Location, ScanContext
from .inflate import bounded_reader, zip_decompressor, zlib_decompressor
from .models import Severity
from .stream import Window
from .zipparse import ZipEntry

MIN_RATIO_BASE = 64 << 10


class WindowIO(io.RawIOBase):
    """A read-only, seekable file object over a :class:`Window` (for stdlib readers)."""

    def __init__(self, win: Window) -> None:
        super().__init__()
        self._win = win
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._win.length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: Any) -> int:
        data = self._win.read_at(self._pos, len(b))
        n = len(data)
        b[:n] = data
        self._pos += n
        return n


def _file_reader(f: IO[bytes]) -> Callable[[int], bytes]:
    return f.read


@contextmanager
def expanded(
    ctx: ScanContext, reader: Callable[[int], bytes], compressed_size: int, loc: Location, fmt: str
) -> Iterator[Window | None]:
    """Decompress into a spool; yields a Window on it, or None after recording a finding."""
    with ctx.spool() as spool:
        try:
            n = ctx.expand_into(reader, spool, max(compressed_size, MIN_RATIO_BASE), loc)
        except BudgetExceededError as exc:
            ctx.bomb(loc, fmt, f"decompression stopped: {exc}")
            yield None
            return
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            ctx.add(
                Severity.ERROR,
                "decompression-failed",
                f"{fmt} stream is corrupt: {type(exc).__name__}: {exc}",
                loc,
                fmt,
            )
            yield None
            return
        ctx.extra_bytes_read += n
        yield Window(spool, 0, n)  # type: ignore[arg-type]


# -- single-stream wrappers ------------------------------------------------------------------------
def _opener(fmt: str, raw: IO[bytes]) -> Any:
    if fmt == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if fmt == "bzip2":
        return bz2.BZ2File(raw, "rb")
    if fmt in ("xz", "lzma"):
        return lzma.LZMAFile(raw, "rb")
    if fmt == "lz4":
        import lz4.frame  # optional dependency

        return lz4.frame.LZ4FrameFile(raw, "rb")  # type: ignore[no-any-return]
    if fmt == "zstd":
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            from backports import zstd
        return zstd.ZstdFile(raw, "rb")  # type: ignore[no-any-return]
    raise ValueError(fmt)


_SUFFIXES = {
    "gzip": (".gz", ".gzip"),
    "bzip2": (".bz2",),
    "xz": (".xz",),
    "lzma": (".lzma",),
    "zlib": (".z", ".zlib"),
    "lz4": (".lz4",),
    "zstd": (".zst",),
}


def _inner_name(loc: Location, fmt: str) -> str:
    hint = (loc.name_hint or "").rsplit("/", 1)[-1]
    for suffix in _SUFFIXES.get(fmt, ()):
        if hint.lower().endswith(suffix) and len(hint) > len(suffix):
            return hint[: -len(suffix)]
    return f"[{fmt}]"


def scan_compressed(fmt: str) -> Callable[[ScanContext, Window, Location], str]:
    def scan(ctx: ScanContext, win: Window, loc: Location) -> str:
        child = loc.child(_inner_name(loc, fmt))
        if fmt == "zlib":
            reader = bounded_reader(win, zlib_decompressor())
            with expanded(ctx, reader, win.length, child, fmt) as inner:
                if inner is not None:
                    ctx.scan_inner(inner, child)
            return fmt
        try:
            f = _opener(fmt, WindowIO(win))  # type: ignore[arg-type]
        except ImportError:
            ctx.add(
                Severity.ERROR,
                "unsupported-compression",
                f"{fmt} support is not installed; content not analysed",
                loc,
                fmt,
            )
            return fmt
        with f, expanded(ctx, _file_reader(f), win.length, child, fmt) as inner:
            if inner is not None:
                ctx.scan_inner(inner, child)
        return fmt

    return scan


@contextmanager
def zip_member(
    ctx: ScanContext, win: Window, entry: ZipEntry, loc: Location
) -> Iterator[Window | None]:
    """A Window on the uncompressed content of one zip member (None: a finding was recorded)."""
    if entry.data_offset < 0:
        ctx.add(
            Severity.ERROR,
            "zip-entry-unreadable",
            "entry has no readable local header",
            loc,
            "zip",
            offset=entry.header_offset,
        )
        yield None
        return
    raw = win.sub(entry.data_offset, entry.csize)
    if entry.method == 0:
        yield raw
        return
    decomp = zip_decompressor(entry.method)
    if decomp is None:
        ctx.add(
            Severity.ERROR,
            "zip-unsupported-compression",
            f"compression method {entry.method} cannot be analysed",
            loc,
            "zip",
            offset=entry.header_offset,
        )
        yield None
        return
    ctx.track(raw)
    with expanded(ctx, bounded_reader(raw, decomp), entry.csize, loc, "zip") as inner:
        yield inner
