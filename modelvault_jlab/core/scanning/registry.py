"""Format id → scanner function. Explicit table, no registration by import side effect."""

from __future__ import annotations

from collections.abc import Callable

from .archives import scan_7z, scan_tar, scan_zip
from .compressed import scan_compressed
from .context import Location, ScanContext
from .formats_misc import scan_gguf, scan_hdf5, scan_onnx
from .joblib_zfile import scan_joblib_zfile
from .numpy_fmt import scan_npy
from .pickle import scan_pickle_stream
from .python_src import scan_python
from .safetensors_fmt import scan_safetensors
from .stream import Window
from .templates import scan_text
from .torch_legacy import scan_torch_legacy

Scanner = Callable[[ScanContext, Window, Location], str]


def _scan_pickle(ctx: ScanContext, win: Window, loc: Location) -> str:
    out = scan_pickle_stream(ctx, win, loc, fmt="pickle")
    if any(
        r.globals and any(g.dotted == "joblib.numpy_pickle.NumpyArrayWrapper" for g in r.globals)
        for r in out.pickles
    ):
        return "joblib"
    return "pickle"


SCANNERS: dict[str, Scanner] = {
    "pickle": _scan_pickle,
    "torch-legacy": scan_torch_legacy,
    "zip": scan_zip,
    "tar": scan_tar,
    "7z": scan_7z,
    "npy": scan_npy,
    "joblib-zfile": scan_joblib_zfile,
    "safetensors": scan_safetensors,
    "gguf": scan_gguf,
    "onnx": scan_onnx,
    "hdf5": scan_hdf5,
    "python": scan_python,
    "text": scan_text,
    **{fmt: scan_compressed(fmt) for fmt in ("gzip", "bzip2", "xz", "lzma", "zlib", "lz4", "zstd")},
}
