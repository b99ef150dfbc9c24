"""A tolerant ZIP reader: sees what any loader (Python zipfile, miniz in torch, numpy) might see.

Python's ``zipfile`` rejects archives that other loaders accept (CRC mismatches, encryption flag
bits on stored data, local/central name mismatches, unknown methods), which is how several
picklescan bypasses worked (CVE-2025-1944 / GHSA-7q5r-7gvp-wc82 name mismatch,
CVE-2025-1945 / GHSA-w8jq-xcqf-f792 flag bits, CVE-2025-10156 CRC errors). This reader never
verifies CRCs, reads the central directory *and* walks the local-header chain, tolerates data
prepended before the archive, and reports every anomaly as a note so the scanner can grade it.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field

from .stream import TruncatedError, Window

EOCD_SIG = b"PK\x05\x06"
EOCD64_LOC_SIG = b"PK\x06\x07"
EOCD64_SIG = b"PK\x06\x06"
CDH_SIG = b"PK\x01\x02"
LFH_SIG = b"PK\x03\x04"
_CDH = struct.Struct("<4s6H3I5H2I")
_LFH = struct.Struct("<4s5H3I2H")
_EOCD = struct.Struct("<4s4H2IH")
_EOCD64 = struct.Struct("<4sQ2H2I4Q")


class ZipFormatError(Exception):
    """The archive structure cannot be followed at all."""


@dataclass
class ZipEntry:
    name: str
    method: int
    flags: int
    csize: int
    usize: int
    header_offset: int  # offset of the local header in the window
    data_offset: int = -1
    local_name: str | None = None
    from_central: bool = True

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") and self.usize == 0

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 0x1)


@dataclass
class ZipListing:
    entries: list[ZipEntry] = field(default_factory=list)
    prepended: int = 0
    notes: list[tuple[str, str, int | None]] = field(default_factory=list)  # (rule, msg, offset)
    has_central: bool = True

    def note(self, rule: str, message: str, offset: int | None = None) -> None:
        self.notes.append((rule, message, offset))


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def find_eocd(win: Window) -> int | None:
    """Offset of the End Of Central Directory record, if any."""
    tail_len = min(win.length, 22 + 0xFFFF)
    tail = win.read_at(win.length - tail_len, tail_len)
    pos = tail.rfind(EOCD_SIG)
    while pos >= 0:
        if pos + 22 <= len(tail):
            return win.length - tail_len + pos
        pos = tail.rfind(EOCD_SIG, 0, pos)
    return None


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        hid, hlen = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + hlen]
        if hid == 0x0001:
            j = 0
            vals = []
            while j + 8 <= len(body):
                vals.append(struct.unpack_from("<Q", body, j)[0])
                j += 8
            k = 0
            if usize == 0xFFFFFFFF and k < len(vals):
                usize = vals[k]
                k += 1
            if csize == 0xFFFFFFFF and k < len(vals):
                csize = vals[k]
                k += 1
            if offset == 0xFFFFFFFF and k < len(vals):
                offset = vals[k]
        i += 4 + hlen
    return usize, csize, offset


def _read_central(win: Window, listing: ZipListing, eocd: int, max_entries: int) -> None:
    rec = _EOCD.unpack(win.read_at(eocd, 22))
    n_entries, cd_size, cd_offset = rec[4], rec[5], rec[6]
    cd_end = eocd
    if eocd >= 20 and win.read_at(eocd - 20, 4) == EOCD64_LOC_SIG:
        (z64_off,) = struct.unpack("<Q", win.read_at(eocd - 20 + 8, 8))
        # Locate the zip64 record relative to the locator, tolerating prepended data.
        cand = eocd - 20 - 56
        if cand >= 0 and win.read_at(cand, 4) == EOCD64_SIG:
            r64 = _EOCD64.unpack(win.read_at(cand, 56))
            n_entries, cd_size, cd_offset = r64[7], r64[8], r64[9]
            cd_end = cand
        elif z64_off < win.length and win.read_at(z64_off, 4) == EOCD64_SIG:
            r64 = _EOCD64.unpack(win.read_at(z64_off, 56))
            n_entries, cd_size, cd_offset = r64[7], r64[8], r64[9]
            cd_end = z64_off
    cd_start = cd_end - cd_size
    if cd_start < 0:
        raise ZipFormatError("central directory size points before the start of the file")
    listing.prepended = cd_start - cd_offset
    if listing.prepended < 0:
        raise ZipFormatError("central directory offset points past its real position")
    if n_entries > max_entries:
        raise ZipFormatError(f"archive declares {n_entries} entries (limit {max_entries})")
    sub = win.sub(cd_start, cd_size)
    count = 0
    while sub.remaining >= _CDH.size:
        raw = sub.read_exact(_CDH.size)
        f = _CDH.unpack(raw)
        if f[0] != CDH_SIG:
            listing.note(
                "zip-malformed", "garbage inside the central directory", cd_start + sub.pos
            )
            break
        flags, method = f[3], f[4]
        csize, usize = f[8], f[9]
        nlen, xlen, clen = f[10], f[11], f[12]
        offset = f[16]
        name = _decode_name(sub.read_exact(nlen), flags)
        extra = sub.read_exact(xlen)
        sub.skip(clen)
        usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
        listing.entries.append(
            ZipEntry(name, method, flags, csize, usize, offset + listing.prepended)
        )
        count += 1
        if count > max_entries:
            raise ZipFormatError("too many central directory entries")
    if count != n_entries and n_entries not in (0xFFFF,):
        listing.note(
            "zip-entry-count-mismatch",
            f"EOCD declares {n_entries} entries, central directory has {count}",
        )


def _read_local(win: Window, entry: ZipEntry, listing: ZipListing) -> None:
    try:
        f = _LFH.unpack(win.read_at(entry.header_offset, _LFH.size))
    except struct.error as exc:
        raise ZipFormatError(f"local header of {entry.name!r} is truncated") from exc
    if f[0] != LFH_SIG:
        listing.note(
            "zip-malformed", f"entry {entry.name!r} has no local header", entry.header_offset
        )
        return
    nlen, xlen = f[9], f[10]
    local_name = _decode_name(win.read_at(entry.header_offset + _LFH.size, nlen), f[2])
    entry.local_name = local_name
    entry.data_offset = entry.header_offset + _LFH.size + nlen + xlen
    if local_name != entry.name:
        listing.note(
            "zip-name-mismatch",
            f"central directory names {entry.name!r} but local header names {local_name!r}",
            entry.header_offset,
        )
    if f[3] != entry.method:
        listing.note(
            "zip-method-mismatch",
            f"entry {entry.name!r}: central method {entry.method}, local {f[3]}",
            entry.header_offset,
        )
    if entry.data_offset + entry.csize > win.length:
        listing.note(
            "zip-truncated",
            f"entry {entry.name!r} runs past the end of the file",
            entry.header_offset,
        )


def _walk_local_chain(win: Window, listing: ZipListing, start: int, max_entries: int) -> None:
    """Follow local headers from ``start``; add entries the central directory does not list."""
    known = {e.header_offset for e in listing.entries}
    pos = start
    for _ in range(max_entries):
        if pos + _LFH.size > win.length or win.read_at(pos, 4) != LFH_SIG:
            return
        f = _LFH.unpack(win.read_at(pos, _LFH.size))
        flags, method, csize, usize, nlen, xlen = f[2], f[3], f[7], f[8], f[9], f[10]
        name = _decode_name(win.read_at(pos + _LFH.size, nlen), flags)
        extra = win.read_at(pos + _LFH.size + nlen, xlen)
        usize, csize, _ = _zip64_extra(extra, usize, csize, 0)
        data = pos + _LFH.size + nlen + xlen
        if pos not in known:
            entry = ZipEntry(name, method, flags, csize, usize, pos, data, name, from_central=False)
            listing.entries.append(entry)
            if listing.has_central:
                listing.note(
                    "zip-hidden-entry", f"local entry {name!r} is not in the central directory", pos
                )
        if flags & 0x8 and method != 0:
            return  # sizes only in a trailing data descriptor: cannot follow the chain
        nxt = data + csize
        if flags & 0x8:
            nxt += 12 if win.read_at(nxt, 4) != b"PK\x07\x08" else 16
        if nxt <= pos:
            return
        pos = nxt


def read_zip(win: Window, max_entries: int) -> ZipListing:
    """List a ZIP archive held in ``win``; raises ZipFormatError if nothing can be followed."""
    listing = ZipListing()
    eocd = find_eocd(win)
    try:
        if eocd is None:
            raise ZipFormatError("no end of central directory record")
        _read_central(win, listing, eocd, max_entries)
    except (ZipFormatError, TruncatedError, struct.error) as exc:
        listing.has_central = False
        listing.entries.clear()
        listing.note("zip-no-central-directory", f"central directory unusable: {exc}")
    for entry in list(listing.entries):
        _read_local(win, entry, listing)
    chain_start = listing.prepended if listing.has_central else 0
    try:
        _walk_local_chain(win, listing, chain_start, max_entries)
    except (TruncatedError, struct.error):
        listing.note("zip-malformed", "local header chain is truncated")
    if not listing.entries and not listing.has_central:
        raise ZipFormatError("no readable zip entries")
    counts = Counter(e.name for e in listing.entries if e.from_central)
    for d in sorted(n for n, c in counts.items() if c > 1):
        listing.note("zip-duplicate-entry", f"entry name {d!r} appears more than once")
    return listing
