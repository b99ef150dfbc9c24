"""Decompression bombs built at test time, cheaply (a repeated self-contained deflate block).

Compressing 512 MiB of zeros takes seconds; compressing 16 MiB once and repeating the
byte-aligned, dictionary-free block (``Z_FULL_FLUSH``) gives the same bomb in a fraction of that.
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import zipfile
import zlib
from functools import cache

_BLOCK = 16 << 20


@cache
def _deflate_block() -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b"\0" * _BLOCK) + c.flush(zlib.Z_FULL_FLUSH)


def raw_deflate(expanded: int) -> bytes:
    """A raw deflate stream of ``expanded`` zero bytes (a multiple of 16 MiB)."""
    return _deflate_block() * (expanded // _BLOCK) + b"\x03\x00"  # final empty fixed block


def gzip_bomb(expanded: int) -> bytes:
    body = raw_deflate(expanded)
    return (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        + body
        + struct.pack("<II", 0, expanded & 0xFFFFFFFF)  # CRC left wrong: read stops earlier
    )


@cache
def _bz2_block() -> bytes:
    return bz2.compress(b"\0" * _BLOCK, 9)


def bz2_bomb(expanded: int) -> bytes:
    return _bz2_block() * (expanded // _BLOCK)  # multi-stream, as bzip2 and BZ2File read it


@cache
def _xz_block() -> bytes:
    return lzma.compress(b"\0" * _BLOCK, preset=0)


def xz_bomb(expanded: int) -> bytes:
    return _xz_block() * (expanded // _BLOCK)  # concatenated .xz streams


def zip_raw(members: list[tuple[str, int, bytes, int]]) -> bytes:
    """A zip from (name, method, compressed bytes, uncompressed size); CRCs are zero."""
    out = io.BytesIO()
    central = io.BytesIO()
    for name, method, data, usize in members:
        offset = out.tell()
        nm = name.encode()
        zip64 = usize >= 0xFFFFFFFF or len(data) >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, usize, len(data)) if zip64 else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(data), usize)
        version = 45 if zip64 else 20
        out.write(
            struct.pack("<IHHHHHIII", 0x04034B50, version, 0, method, 0, 0, 0, *sizes)
            + struct.pack("<HH", len(nm), len(extra))
            + nm
            + extra
            + data
        )
        cd_extra = struct.pack("<HHQQQ", 1, 24, usize, len(data), offset) if zip64 else b""
        central.write(
            struct.pack("<IHHHHHHIII", 0x02014B50, version, version, 0, method, 0, 0, 0, *sizes)
            + struct.pack(
                "<HHHHHII", len(nm), len(cd_extra), 0, 0, 0, 0, 0xFFFFFFFF if zip64 else offset
            )
            + nm
            + cd_extra
        )
    cd = central.getvalue()
    cd_offset = out.tell()
    n = len(members)
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_offset, 0))
    return out.getvalue()


def zip_deflate_bomb(expanded: int, name: str = "a.bin") -> bytes:
    return zip_raw([(name, 8, raw_deflate(expanded), expanded)])


def nested_zip(levels: int, inner: bytes) -> bytes:
    data = inner
    for i in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"level{i}.zip", data)
        data = buf.getvalue()
    return data


def many_members(count: int) -> bytes:
    member = raw_deflate(_BLOCK)
    return zip_raw([(f"m{i}.bin", 8, member, _BLOCK) for i in range(count)])
