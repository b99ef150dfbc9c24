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
    DictValue,
    Value,
    callee,
    const_int,
    const_str,
    tuple_items,
)

JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
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


def dtype_itemsize(dtype: Value | None) -> int | None:
    """Item size of a symbolic ``numpy.dtype(...)`` call result; -1 means object dtype."""
    ref = callee(dtype)
    if ref is None or ref.dotted not in ("numpy.dtype",) or not isinstance(dtype, CallResult):
        return None
    args = tuple_items(dtype.args)
    code = const_str(args[0]) if args else None
    if code is None:
        return None
    state = tuple_items(dtype.state)
    if state and len(state) >= 6:
        elsize = const_int(state[5])
        if elsize is not None and elsize > 0 and code[:1] not in ("O",):
            return elsize
    m = _DTYPE_RE.match(code)
    if not m:
        return None
    kind, num = m.group(1), m.group(2)
    if kind == "O":
        return -1
    if num:
        n = int(num)
        if kind == "U":
            return 4 * n
        return n
    return _SIZES.get(kind)


def joblib_payload(target: CallResult) -> tuple[str, int, bool] | None:
    """(kind, nbytes, padded) of the data following a built NumpyArrayWrapper, else None.

    kind is ``raw``, ``object`` (a nested pickle follows) or ``unknown`` (cannot size: fail).
    """
    ref = callee(target)
    if ref is None or ref.dotted != JOBLIB_WRAPPER:
        return None
    state = target.state
    if not isinstance(state, DictValue):
        return ("unknown", 0, False)
    itemsize = dtype_itemsize(state.get("dtype"))
    shape = tuple_items(state.get("shape"))
    padded = (
        state.get("numpy_array_alignment_bytes") is not None
        and const_int(state.get("numpy_array_alignment_bytes")) is not None
    )
    if itemsize == -1:
        return ("object", 0, False)
    if itemsize is None or shape is None:
        return ("unknown", 0, False)
    dims = [const_int(v) for v in shape]
    if any(d is None or d < 0 for d in dims):
        return ("unknown", 0, False)
    count = math.prod(d for d in dims if d is not None)
    return ("raw", count * itemsize, padded)
