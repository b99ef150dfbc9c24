"""NumPy ``.npy`` (``.npz`` is a zip of them and goes through the zip scanner).

Object arrays are stored as a pickle after the header (``numpy.load(allow_pickle=True)``
unpickles it): that pickle is walked like any other. Reference: ``numpy/lib/format.py``.
"""

from __future__ import annotations

import ast
import math
import struct
from typing import Any

from .context import Location, ScanContext
from .models import Severity
from .pickle import scan_pickle_stream
from .stream import TruncatedError, Window

MAX_HEADER = 1 << 20


def _has_object(descr: Any) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list | tuple):
        return any(_has_object(d) for d in descr)
    return False


def _itemsize(descr: Any) -> int | None:
    if isinstance(descr, str):
        code = descr.lstrip("<>|=")
        kind, num = code[:1], code[1:]
        if not num.isdigit():
            return None
        return int(num) * (4 if kind == "U" else 1)
    return None


def scan_npy(ctx: ScanContext, win: Window, loc: Location) -> str:
    try:
        magic = win.read_exact(8)
        major = magic[6]
        if major == 1:
            (hlen,) = struct.unpack("<H", win.read_exact(2))
        elif major in (2, 3):
            (hlen,) = struct.unpack("<I", win.read_exact(4))
        else:
            raise ValueError(f"unknown .npy version {major}")
        if hlen > MAX_HEADER:
            raise ValueError("header too large")
        raw = win.read_exact(hlen)
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin1"))
        if not isinstance(header, dict) or not {"descr", "shape"} <= header.keys():
            raise ValueError("header is not a descr/shape dictionary")
        shape = header["shape"]
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError("invalid shape")
    except (
        TruncatedError,
        ValueError,
        SyntaxError,
        UnicodeDecodeError,
        MemoryError,
        RecursionError,
    ) as exc:
        ctx.add(Severity.ERROR, "npy-malformed", f"cannot parse .npy header: {exc}", loc, "npy")
        return "npy"
    descr = header["descr"]
    if _has_object(descr):
        ctx.add(
            Severity.INFO,
            "npy-object-array",
            "object array: its data is a pickle (loads only with allow_pickle=True)",
            loc,
            "npy",
            offset=win.pos,
        )
        scan_pickle_stream(ctx, win, loc, fmt="npy")
        return "npy-object"
    itemsize = _itemsize(descr)
    if itemsize is not None and win.remaining < itemsize * math.prod(shape):
        ctx.add(
            Severity.INFO,
            "npy-short-data",
            "array data is shorter than its shape implies",
            loc,
            "npy",
        )
    return "npy"
