"""Bounded, buffered, seek-based reading of a window of a binary file.

Scanners never load a file whole: they read headers and small structures through a
:class:`Window` and skip large payloads (tensor bytes, array data) with ``seek``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

_CHUNK = 1 << 16


class TruncatedError(Exception):
    """The window ended before the structure being read was complete."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Window:
    """A read-only view on ``[start, start + length)`` of a seekable file object.

    Offsets (``pos``, ``seek``) are relative to the window start. Reads are buffered; ``skip``
    beyond the buffer seeks without reading. ``consumed`` counts bytes actually read from the file.
    """

    def __init__(self, fileobj: BinaryIO, start: int, length: int) -> None:
        self._f = fileobj
        self.start = start
        self.length = length
        self._buf = b""
        self._buf_pos = 0  # window offset of _buf[0]
        self._i = 0  # index into _buf
        self.consumed = 0
        self.on_read: Callable[[], None] | None = None
        """Called before every read from the file (the scan's CPU budget check)."""

    @classmethod
    def of_bytes(cls, data: bytes) -> Window:
        return cls(io.BytesIO(data), 0, len(data))

    def sub(self, offset: int, length: int) -> Window:
        """A window on part of this one (absolute offsets are shared with the same file)."""
        length = max(0, min(length, self.length - offset))
        win = Window(self._f, self.start + offset, length)
        win.on_read = self.on_read
        return win

    @property
    def pos(self) -> int:
        return self._buf_pos + self._i

    @property
    def remaining(self) -> int:
        return self.length - self.pos

    def seek(self, offset: int) -> None:
        offset = max(0, min(offset, self.length))
        if self._buf_pos <= offset <= self._buf_pos + len(self._buf):
            self._i = offset - self._buf_pos
        else:
            self._buf = b""
            self._buf_pos = offset
            self._i = 0

    def skip(self, n: int) -> None:
        target = self.pos + n
        if target > self.length:
            self.seek(self.length)
            raise TruncatedError(f"needed {n} bytes, window ends first", self.pos)
        self.seek(target)

    def _fill(self, want: int) -> None:
        """Make sure at least ``want`` bytes (if available) are buffered from the current pos."""
        have = len(self._buf) - self._i
        if have >= want:
            return
        pos = self.pos
        to_read = min(max(want - have, _CHUNK), self.length - pos - have)
        if to_read <= 0:
            return
        if self.on_read is not None:
            self.on_read()
        self._f.seek(self.start + pos + have)
        data = self._f.read(to_read)
        self.consumed += len(data)
        self._buf = self._buf[self._i :] + data
        self._buf_pos = pos
        self._i = 0

    def read(self, n: int) -> bytes:
        """Read up to ``n`` bytes."""
        if n <= 0:
            return b""
        self._fill(n)
        out = self._buf[self._i : self._i + n]
        self._i += len(out)
        return out

    def read_exact(self, n: int) -> bytes:
        start = self.pos
        out = self.read(n)
        if len(out) != n:
            raise TruncatedError(f"needed {n} bytes at offset {start}, got {len(out)}", start)
        return out

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self._buf[self._i : self._i + n]

    def read_byte(self) -> int:
        if self._i < len(self._buf):
            b = self._buf[self._i]
            self._i += 1
            return b
        data = self.read_exact(1)
        return data[0]

    def readline(self, keep: int) -> tuple[bytes, int]:
        """Read through the next ``\\n``; return (first ``keep`` bytes without the newline, length).

        Long lines are consumed without being retained. Raises TruncatedError without a newline.
        """
        start = self.pos
        kept = bytearray()
        total = 0
        while True:
            self._fill(1)
            if self._i >= len(self._buf):
                raise TruncatedError("line not terminated before end of data", start)
            nl = self._buf.find(b"\n", self._i)
            end = len(self._buf) if nl < 0 else nl
            piece = self._buf[self._i : end]
            if len(kept) < keep:
                kept += piece[: keep - len(kept)]
            total += len(piece)
            if nl >= 0:
                self._i = nl + 1
                return bytes(kept), total
            self._i = len(self._buf)

    def read_at(self, offset: int, n: int) -> bytes:
        """Random-access read of up to ``n`` bytes; leaves the buffered position untouched."""
        if offset < 0 or n <= 0 or offset >= self.length:
            return b""
        n = min(n, self.length - offset)
        if self._buf_pos <= offset and offset + n <= self._buf_pos + len(self._buf):
            i = offset - self._buf_pos
            return self._buf[i : i + n]
        if self.on_read is not None:
            self.on_read()
        self._f.seek(self.start + offset)
        data = self._f.read(n)
        self.consumed += len(data)
        return data
