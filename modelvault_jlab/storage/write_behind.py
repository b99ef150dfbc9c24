"""Start the kernel's write-back of a file's finished ranges while the file is still written.

A blob is fsynced before it is published (and a cold file's last byte is held until then), so
without this the whole file's dirty pages go to the disk only at the end: for a 1 GiB file that
is a second or more of waiting after the last byte arrived. ``sync_file_range(WRITE)`` on each
finished 8 MiB range starts that write-back during the transfer (it does not wait for it), so the
final fsync finds little left to do and the disk write overlaps the receive and sha256. The page
cache keeps the pages: clients being sent the growing file still read them from memory.

Linux only (the call is not in :mod:`os`; it is found in libc with :mod:`ctypes`); elsewhere, or
if the call fails once, this does nothing and the fsync does all the work as before.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

WINDOW = 8 << 20
"""Bytes written before write-back of them is started (one call per 8 MiB)."""

_SYNC_FILE_RANGE_WRITE = 2


def _load() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_sync_file_range = _load()


class WriteBehind:
    """Tracks how much of one file (its descriptor) was handed to write-back."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.started = 0
        """Bytes from the start of the file whose write-back was started."""
        self._enabled = _sync_file_range is not None

    def written(self, total: int) -> None:
        """``total`` bytes of the file are written: start write-back of a finished window."""
        if not self._enabled or total - self.started < WINDOW:
            return
        assert _sync_file_range is not None
        if _sync_file_range(self._fd, self.started, total - self.started, _SYNC_FILE_RANGE_WRITE):
            self._enabled = False  # e.g. a file system without it: the final fsync does it all
            return
        self.started = total


__all__ = ["WINDOW", "WriteBehind"]
