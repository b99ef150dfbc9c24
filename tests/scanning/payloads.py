"""Byte-level pickle assembly for tests: payloads are built here, never committed as binaries.

Every helper returns raw opcode bytes (no pickle.dumps of malicious objects, no pickletools).
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelvault_jlab.core.scanning import ScanReport

PROTO = b"\x80"
STOP = b"."
MARK = b"("
TUPLE = b"t"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
REDUCE = b"R"
BUILD = b"b"
EMPTY_DICT = b"}"
EMPTY_TUPLE = b")"
MEMOIZE = b"\x94"
STACK_GLOBAL = b"\x93"
NEWOBJ = b"\x81"
SETITEM = b"s"
NONE = b"N"
POP = b"0"


def proto(n: int) -> bytes:
    return PROTO + bytes([n])


def frame(n: int) -> bytes:
    return b"\x95" + struct.pack("<Q", n)


def global_(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def inst(module: str, name: str) -> bytes:
    return b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def su(s: str) -> bytes:
    """SHORT_BINUNICODE."""
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def bu(s: str) -> bytes:
    """BINUNICODE."""
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def bu8(s: str) -> bytes:
    b = s.encode()
    return b"\x8d" + struct.pack("<Q", len(b)) + b


def unicode_nl(s: str) -> bytes:
    return b"V" + s.encode("raw_unicode_escape") + b"\n"


def string_nl(s: str) -> bytes:
    return b"S'" + s.encode() + b"'\n"


def binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def short_binbytes(data: bytes) -> bytes:
    return b"C" + bytes([len(data)]) + data


def binbytes8(data: bytes) -> bytes:
    return b"\x8e" + struct.pack("<Q", len(data)) + data


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


def long_binget(i: int) -> bytes:
    return b"j" + struct.pack("<I", i)


def put(i: int) -> bytes:
    return b"p" + str(i).encode() + b"\n"


def get(i: int) -> bytes:
    return b"g" + str(i).encode() + b"\n"


def binint1(i: int) -> bytes:
    return b"K" + bytes([i])


def stack_global(module: str, name: str) -> bytes:
    return su(module) + su(name) + STACK_GLOBAL


def call(callable_ops: bytes, *args: bytes) -> bytes:
    """callable(*args) via MARK ... TUPLE REDUCE."""
    return callable_ops + MARK + b"".join(args) + TUPLE + REDUCE


def reduce_call(module: str, name: str, *args: bytes, protocol: int = 4) -> bytes:
    """A complete pickle that calls module.name(*args) on load."""
    head = proto(protocol) if protocol >= 2 else b""
    g = stack_global(module, name) if protocol >= 4 else global_(module, name)
    return head + call(g, *args) + STOP


def os_system(cmd: str = "echo pwned", protocol: int = 4) -> bytes:
    return reduce_call(
        "os", "system", su(cmd) if protocol >= 4 else string_nl(cmd), protocol=protocol
    )


def rules(report: ScanReport) -> set[str]:
    return {f.rule for f in report.findings}


def globals_of(report: ScanReport) -> set[str]:
    return {f.global_ for f in report.findings if f.global_}


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w", compression=method) as z:
            for k, v in entries.items():
                z.writestr(k, v)
    return buf.getvalue()


def torch_zip(pkl: bytes, pkl_name: str = "archive/data.pkl") -> bytes:
    """A torch.save-style zip (stored) around ``pkl``."""
    return zip_bytes(
        {
            pkl_name: pkl,
            "archive/byteorder": b"little",
            "archive/data/0": b"\x00" * 16,
            "archive/version": b"3\n",
        }
    )
