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


def _dtype(descr: Any) -> Any:
    """The dtype ``numpy.load`` builds from the header's ``descr``, built the same way.

    ``descr`` comes from ``ast.literal_eval`` (strings, numbers, tuples, lists, dicts only), and
    ``numpy.lib.format.descr_to_dtype`` only parses type codes from literals: it neither imports
    nor runs code, so asking numpy is safe, and it is the only exact answer to "is there an
    object field" (``'object'``, ``'O'``, ``'i4,O'``, ``'(2,)O'``, structured and sub-array
    descriptors all spell one).
    """
    from numpy.lib.format import descr_to_dtype

    try:
        return descr_to_dtype(descr)
    except Exception as exc:  # numpy.load fails on it the same way
        raise ValueError(f"descr is not a valid dtype descriptor ({type(exc).__name__})") from exc


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
        dtype = _dtype(header["descr"])
    except (
        TruncatedError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        SyntaxError,
        UnicodeDecodeError,
        MemoryError,
        RecursionError,
        OverflowError,
    ) as exc:
        ctx.add(Severity.ERROR, "npy-malformed", f"cannot parse .npy header: {exc}", loc, "npy")
        return "npy"
    if dtype.hasobject:
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
    if win.remaining < dtype.itemsize * math.prod(shape):
        ctx.add(
            Severity.INFO,
            "npy-short-data",
            "array data is shorter than its shape implies",
            loc,
            "npy",
        )
    return "npy"
