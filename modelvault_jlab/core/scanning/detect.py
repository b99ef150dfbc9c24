"""Format identification by content (magic bytes and structure), never by file name.

``name_hint`` only breaks ties between formats the content allows (a UTF-8 text file ending in
``.py`` is treated as Python source; a protobuf that is plausibly ONNX is parsed as ONNX).
"""

from __future__ import annotations

import pickletools
import struct
import zlib

from .joblib_zfile import is_joblib_zfile
from .pickle_walk import looks_like_pickle_head

TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
HEAD_SIZE = 4096

_BINARY_DATA_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"RIFF", "riff"),
    (b"%PDF-", "pdf"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"fLaC", "flac"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"wOFF", "woff"),
    (b"wOF2", "woff2"),
    (b"\x7fELF", "elf"),
    (b"ARROW1", "arrow"),
    (b"PAR1", "parquet"),
)

# Any opcode byte may start a protocol 0/1 pickle; the probe walk decides.
_PROTO0_FIRST = frozenset(op.code.encode("latin1")[0] for op in pickletools.opcodes)


def _is_zlib(head: bytes) -> bool:
    return (
        len(head) >= 2
        and head[0] == 0x78
        and head[1] in (0x01, 0x5E, 0x9C, 0xDA)
        and ((head[0] << 8) | head[1]) % 31 == 0
    )


def _is_lzma_alone(head: bytes) -> bool:
    """The legacy ``.lzma`` header as liblzma's auto decoder (what ``lzma.open`` and joblib use)
    accepts it: properties 0x5d, a dictionary size of 2^n or 2^n + 2^(n-1) (or unset), and an
    unknown or < 2^38 uncompressed size. Checking only the first byte flagged 1 in 256 random
    files as compressed."""
    if len(head) < 13 or head[0] != 0x5D:
        return False
    dict_size = int.from_bytes(head[1:5], "little")
    if dict_size != 0xFFFFFFFF:
        bits = dict_size.bit_length() - 1
        if dict_size < 4096 or dict_size not in (1 << bits, (1 << bits) | (1 << (bits - 1))):
            return False
    size = int.from_bytes(head[5:13], "little")
    return size == 0xFFFFFFFFFFFFFFFF or size < (1 << 38)


def _is_tar(head: bytes) -> bool:
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    try:
        chksum = int(head[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    block = head[:148] + b" " * 8 + head[156:512]
    return chksum == sum(block) and head[0] != 0


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    # A header length past the end of the file still means "safetensors" (a malformed one).
    return 2 <= n < 1 << 40 and head[8:9] == b"{"


def _looks_like_onnx(head: bytes, name_hint: str | None) -> bool:
    # ModelProto starts with ir_version (field 1, varint): 0x08 <small int>, and is usually
    # followed by opset_import (field 8) or producer_name (field 2).
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 30:
        return False
    if name_hint and name_hint.lower().endswith((".onnx", ".onnx_data", ".ort")):
        return True
    return head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42)


def is_utf8_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is fine.
        return exc.start >= len(head) - 4
    return True


def detect_format(head: bytes, size: int, name_hint: str | None) -> str:
    """Return a format id; ``pickle-probe`` means "maybe a protocol 0/1 pickle, walk to decide"."""
    if size == 0:
        return "empty"
    if head.startswith(TORCH_LEGACY_MAGIC):
        return "torch-legacy"
    if looks_like_pickle_head(head):
        return "pickle"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if is_joblib_zfile(head):
        return "joblib-zfile"
    if _is_lzma_alone(head):
        return "lzma"
    if _is_zlib(head):
        return "zlib"
    if _is_tar(head):
        return "tar"
    if _is_safetensors(head, size):
        return "safetensors"
    for magic, name in _BINARY_DATA_MAGICS:
        if head.startswith(magic):
            return name
    if _looks_like_onnx(head, name_hint):
        return "onnx"
    if head[:1] and head[0] in _PROTO0_FIRST:
        return "pickle-probe"
    if is_utf8_text(head):
        return "text"
    return "binary"


def crc_ok(data: bytes, expected: int) -> bool:
    return (zlib.crc32(data) & 0xFFFFFFFF) == expected
