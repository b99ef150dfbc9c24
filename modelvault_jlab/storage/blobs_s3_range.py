"""Random access to one S3 object over ranged GETs (the reader of :mod:`.blobs_s3`)."""

from __future__ import annotations

import io
from typing import Any

from ..errors import StorageError


class S3RangeReader(io.RawIOBase):
    """Random access to one object over ranged GETs (wrapped in a BufferedReader).

    One GET serves a window of bytes; while reads stay sequential the next window is twice as
    large (up to 64 MiB), so a full read takes few requests, and a seek costs one small request
    instead of abandoning a connection in the middle of a huge body.
    """

    MIN_WINDOW = 256 * 1024
    MAX_WINDOW = 64 << 20

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        super().__init__()
        self._client, self._bucket, self._key, self._size = client, bucket, key, size
        self._pos = 0
        self._body: Any = None
        self._body_pos = 0
        self._body_end = 0
        self._window = self.MIN_WINDOW

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or not len(view):
            return 0
        if self._body is None or self._body_pos != self._pos:
            self._open_window(len(view))
        data = self._body.read(min(len(view), self._body_end - self._pos))
        if not data:
            raise StorageError(f"object {self._key} ended early in storage")
        n = len(data)
        view[:n] = data
        self._pos += n
        self._body_pos += n
        if self._body_pos >= self._body_end:
            self._close_body()  # fully read: the connection goes back to the pool
            self._window = min(self._window * 2, self.MAX_WINDOW)
        return n

    def _open_window(self, wanted: int) -> None:
        if self._body is not None:
            self._close_body()
            self._window = self.MIN_WINDOW  # a seek: random access, small windows again
        end = min(self._size, self._pos + max(wanted, self._window))
        response = self._client.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{end - 1}"
        )
        self._body, self._body_pos, self._body_end = response["Body"], self._pos, end

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()
