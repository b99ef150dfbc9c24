"""Files that are several zip archives back to back, as ``torch.distributed.checkpoint`` writes
its ``.distcp`` shards: every tensor or object is one ``torch.save`` archive appended to the file,
and the reader slices them out again by the offsets in ``.metadata`` and ``torch.load``s each.

Such a file is only accepted as a sequence when it is tiled exactly, from offset 0 to its end, by
archives whose central directories account for every byte; each archive is then scanned on its
own. Anything else (a gap, a trailing blob) is left to the ordinary zip scan, which reports the
prepended data.
"""

from __future__ import annotations

import struct

from .stream import Window
from .zipparse import EOCD_SIG, LFH_SIG, ZipFormatError, read_zip

_CHUNK = 1 << 20
MAX_CANDIDATES = 1 << 16


def _eocd_candidates(win: Window, start: int) -> list[int]:
    """Offsets of end-of-central-directory signatures at or after ``start`` (bounded)."""
    out: list[int] = []
    pos = start
    while pos < win.length and len(out) < MAX_CANDIDATES:
        chunk = win.read_at(pos, _CHUNK + 3)
        i = chunk.find(EOCD_SIG)
        while i >= 0 and len(out) < MAX_CANDIDATES:
            if i < _CHUNK or pos + _CHUNK >= win.length:
                out.append(pos + i)
            i = chunk.find(EOCD_SIG, i + 1)
        pos += _CHUNK
    return sorted(set(out))


def split_zip_sequence(win: Window, max_entries: int) -> list[tuple[int, int]] | None:
    """``[(start, end), ...]`` tiling ``win`` with whole archives, or None if it is not one."""
    if win.read_at(0, 4) != LFH_SIG:
        return None
    segments: list[tuple[int, int]] = []
    candidates = _eocd_candidates(win, 0)
    start = 0
    for eocd in candidates:
        if eocd < start:
            continue
        tail = win.read_at(eocd, 22)
        if len(tail) < 22:
            break
        (comment_len,) = struct.unpack("<H", tail[20:22])
        end = eocd + 22 + comment_len
        if end > win.length:
            continue
        try:
            listing = read_zip(win.sub(start, end - start), max_entries)
        except ZipFormatError:
            continue
        if listing.prepended != 0 or not listing.has_central or listing.notes:
            continue  # an EOCD signature inside member data, not this archive's end
        segments.append((start, end))
        start = end
        if start == win.length:
            return segments if len(segments) > 1 else None
        if win.read_at(start, 4) != LFH_SIG:
            return None
    return None
