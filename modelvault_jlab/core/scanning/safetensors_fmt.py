"""safetensors: header length, JSON, dtype/shape vs offsets, overlaps and gaps.

A safetensors file cannot carry code, but a malformed one is an attack on loaders (huge headers,
out-of-bounds offsets, parser differentials via duplicate keys); such files are ``suspicious``.
Reference: https://github.com/huggingface/safetensors (``Metadata::validate``).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from .context import Location, ScanContext
from .models import Severity
from .stream import Window

MAX_HEADER = 100_000_000
_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "F64": 64,
    "I64": 64,
    "U64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


class _InvalidError(Exception):
    pass


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _InvalidError(f"duplicate key {k!r} in header")
        out[k] = v
    return out


def _validate(header: Any, data_len: int) -> int:
    if not isinstance(header, dict):
        raise _InvalidError("header is not a JSON object")
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise _InvalidError("__metadata__ must map strings to strings")
            continue
        if not isinstance(info, dict):
            raise _InvalidError(f"tensor {name!r} is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _BITS:
            raise _InvalidError(f"tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise _InvalidError(f"tensor {name!r} has an invalid shape")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise _InvalidError(f"tensor {name!r} has invalid data_offsets")
        begin, end = offsets
        if not 0 <= begin <= end:
            raise _InvalidError(f"tensor {name!r} has reversed offsets")
        nbits = math.prod(shape) * _BITS[str(dtype)]
        if nbits % 8 or nbits // 8 != end - begin:
            raise _InvalidError(f"tensor {name!r}: dtype and shape do not match its byte span")
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin < pos:
            raise _InvalidError(f"tensor {name!r} overlaps another tensor")
        if begin > pos:
            raise _InvalidError(f"gap before tensor {name!r}")
        pos = end
    if pos != data_len:
        raise _InvalidError(f"tensor data covers {pos} bytes but the file holds {data_len}")
    return len(spans)


def scan_safetensors(ctx: ScanContext, win: Window, loc: Location) -> str:
    (n,) = struct.unpack("<Q", win.read_exact(8))
    try:
        if n > MAX_HEADER:
            raise _InvalidError(f"header of {n} bytes exceeds the {MAX_HEADER} byte limit")
        if n > win.length - 8:
            raise _InvalidError(f"header of {n} bytes runs past the end of the file")
        raw = win.read_exact(n)
        try:
            header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_dupes)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise _InvalidError(f"header is not valid JSON: {exc}") from exc
        _validate(header, win.length - 8 - n)
    except _InvalidError as exc:
        ctx.add(Severity.SUSPICIOUS, "safetensors-invalid", str(exc), loc, "safetensors")
    return "safetensors"
