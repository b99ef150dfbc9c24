"""joblib's pre-0.10 persistence format: ``ZF`` + the data length in hex + a zlib stream.

``joblib.load`` still reads it (``numpy_pickle_compat.load_compatibility``): it decompresses the
stream and unpickles the result. Reference: ``joblib/numpy_pickle_compat.py`` (``read_zfile``).
"""

from __future__ import annotations

from .compressed import scan_compressed
from .context import Location, ScanContext
from .stream import Window

ZFILE_PREFIX = b"ZF"
# joblib pads the hex length to len(hex(2**64)) characters
_HEADER = len(ZFILE_PREFIX) + len(f"{2**64:#x}")


def is_joblib_zfile(head: bytes) -> bool:
    """What joblib's ``_detect_compressor`` calls ``compat`` and ``read_zfile`` can size."""
    if not head.startswith(ZFILE_PREFIX) or len(head) < _HEADER:
        return False
    try:
        int(head[len(ZFILE_PREFIX) : _HEADER], 16)
    except ValueError:
        return False
    return True


def scan_joblib_zfile(ctx: ScanContext, win: Window, loc: Location) -> str:
    # joblib < 0.8.4 wrote one more space after the length; zlib data never starts with one.
    start = _HEADER + (1 if win.read_at(_HEADER, 1) == b" " else 0)
    scan_compressed("zlib")(ctx, win.sub(start, win.length - start), loc)
    return "joblib-zfile"
