"""joblib's in-stream arrays.

``joblib.dump`` writes each numpy array as a ``NumpyArrayWrapper`` object followed, right after its
BUILD opcode, by the raw array bytes (optionally preceded by a one-byte padding length), or, for
object arrays, by a nested pickle. The walker must know how many bytes to skip to find the next
opcode: this module computes it from the symbolic wrapper state, without importing numpy or joblib.
"""

from __future__ import annotations

import math
import re

from .pickle_values import (
    CallResult,
    Const,
    DictValue,
    GlobalRef,
    Value,
    callee,
    const_int,
    const_str,
    tuple_items,
)

JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
_FLEXIBLE = frozenset("VUSa")
_DTYPE_RE = re.compile(r"^[<>|=]?([a-zA-Z])(\d*)$")
_SIZES = {
    "b": 1,
    "B": 1,
    "h": 2,
    "H": 2,
    "i": 4,
    "I": 4,
    "l": 8,
    "L": 8,
    "q": 8,
    "Q": 8,
    "e": 2,
    "f": 4,
    "d": 8,
    "g": 16,
    "F": 8,
    "D": 16,
    "G": 32,
    "?": 1,
    "O": 8,
}


_RECONSTRUCTORS = ("copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__")


def _parts(state: list[Value]) -> list[Value] | None:
    """The dtypes a ``numpy.dtype`` state nests: sub-array base (state[2]) and field dtypes
    (state[4]); None when they cannot be read."""
    parts: list[Value] = []
    if len(state) > 2 and not _is_none(state[2]):
        sub = tuple_items(state[2])
        if not sub:
            return None
        parts.append(sub[0])
    if len(state) > 4 and not _is_none(state[4]):
        fields = state[4]
        if not isinstance(fields, DictValue) or not fields.complete:
            return None
        for _, spec in fields.items:
            spec_items = tuple_items(spec)
            if not spec_items:
                return None
            parts.append(spec_items[0])
    elif len(state) > 3 and not _is_none(state[3]):
        return None  # names without fields
    return parts


def dtype_itemsize(dtype: Value | None, depth: int = 0) -> int | None:
    """Item size of a symbolic ``numpy.dtype(...)`` call result; -1 means the dtype holds
    objects (``hasobject``: directly, in a sub-array or in a field), so joblib reads a pickle."""
    if depth > 16:
        return None
    ref = callee(dtype)
    if ref is None or ref.dotted not in ("numpy.dtype",) or not isinstance(dtype, CallResult):
        return None
    args = tuple_items(dtype.args)
    code = const_str(args[0]) if args else None
    if code is None:
        return None
    state = tuple_items(dtype.state)
    if dtype.state is not None and state is None:
        return None
    if state:
        parts = _parts(state)
        if parts is None:
            return None
        for part in parts:
            size = dtype_itemsize(part, depth + 1)
            if size is None or size == -1:
                return size
    m = _DTYPE_RE.match(code)
    if not m:
        return None
    kind, num = m.group(1), m.group(2)
    if state and len(state) >= 6 and kind in _FLEXIBLE:
        # numpy's __setstate__ takes the item size from the state for flexible types only
        # (it keeps 8 for an 'f8' whose state says 16)
        elsize = const_int(state[5])
        if elsize is not None and elsize > 0:
            return elsize
    if kind == "O":
        return -1
    if num:
        n = int(num)
        if kind == "U":
            return 4 * n
        return n
    return _SIZES.get(kind)


def _is_none(value: Value | None) -> bool:
    return isinstance(value, Const) and value.value is None


def is_array_wrapper(target: CallResult) -> bool:
    """``joblib``'s unpickler reads array bytes after BUILD on any NumpyArrayWrapper instance
    (``isinstance``), however it was made: called directly, or through copyreg's helpers."""
    ref = callee(target)
    if ref is None:
        return False
    if ref.dotted == JOBLIB_WRAPPER:
        return True
    args = tuple_items(target.args)
    first = args[0] if args else None
    return (
        ref.dotted in _RECONSTRUCTORS
        and isinstance(first, GlobalRef)
        and first.dotted == JOBLIB_WRAPPER
    )


def joblib_payload(target: CallResult) -> tuple[str, int, bool] | None:
    """(kind, nbytes, padded) of the data following a built NumpyArrayWrapper, else None.

    kind is ``raw``, ``object`` (a nested pickle follows) or ``unknown`` (cannot size: fail).
    Mirrors ``NumpyArrayWrapper.read_array`` in joblib/numpy_pickle.py.
    """
    if not is_array_wrapper(target):
        return None
    state = target.state
    if not isinstance(state, DictValue) or not state.complete:
        return ("unknown", 0, False)
    ref = callee(target)
    init_args = tuple_items(target.args)
    if ref is not None and ref.dotted == JOBLIB_WRAPPER and (init_args is None or init_args):
        return ("unknown", 0, False)  # __init__ arguments set attributes BUILD does not show
    itemsize = dtype_itemsize(state.get("dtype"))
    shape = tuple_items(state.get("shape"))
    # joblib pads whenever the attribute is not None (any value, not only an int)
    alignment = state.get("numpy_array_alignment_bytes")
    padded = alignment is not None and not _is_none(alignment)
    if itemsize == -1:
        return ("object", 0, False)
    if itemsize is None or shape is None:
        return ("unknown", 0, False)
    dims = [const_int(v) for v in shape]
    if any(d is None or d < 0 for d in dims):
        return ("unknown", 0, False)
    count = math.prod(d for d in dims if d is not None)
    return ("raw", count * itemsize, padded)
