"""PyTorch's pre-zip formats.

* ``torch.save(..., _use_new_zipfile_serialization=False)``: five concatenated pickles (magic
  number, protocol version, sys info, the object graph with persistent ids, the storage keys)
  followed by raw storage bytes that ``torch.load`` reads without unpickling.
* The tar format of torch < 0.4: members ``sys_info``, ``pickle``, ``storages`` and ``tensors``;
  ``storages`` and ``tensors`` interleave small pickles with raw data whose size the pickles give.

Reference: ``torch/serialization.py`` (``_legacy_load``, ``legacy_load``).
"""

from __future__ import annotations

import struct
import tarfile

from .context import Location, ScanContext
from .models import Severity
from .pickle import scan_pickle_stream
from .pickle_state import WalkResult
from .pickle_values import GlobalRef, const_int, tuple_items
from .pickle_walk import PickleWalker
from .stream import TruncatedError, Window

_ELEMENT_SIZE = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexFloatStorage": 8,
    "ComplexDoubleStorage": 16,
    "QUInt8Storage": 1,
    "QInt8Storage": 1,
    "QInt32Storage": 4,
    "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
}


def scan_torch_legacy(ctx: ScanContext, win: Window, loc: Location) -> str:
    out = scan_pickle_stream(
        ctx, win, loc, fmt="torch-legacy", persistent_ok=True, max_pickles=5, trailing_is_data=True
    )
    if out.complete and len(out.pickles) < 5:
        ctx.add(
            Severity.ERROR,
            "torch-legacy-malformed",
            "legacy torch file ends before its object pickle",
            loc,
            "torch-legacy",
        )
    elif not out.complete:
        # torch.load unpickles all five in turn: a later one that cannot be followed hides
        # whatever comes after it, so the file is not analysed (fail closed), never clean.
        bad = out.pickles[-1]
        ctx.extend(bad.findings)
        ctx.add(
            Severity.ERROR,
            "torch-legacy-malformed",
            f"pickle {len(out.pickles)} of the legacy torch file cannot be followed: {bad.error}",
            loc,
            "torch-legacy",
            offset=bad.start,
        )
    return "torch-legacy"


class _MalformedError(Exception):
    pass


def _walk(ctx: ScanContext, win: Window, loc: Location) -> WalkResult:
    res = PickleWalker(
        win, ctx.policy, inner_path=loc.inner_path, fmt="pickle", persistent_ok=True
    ).walk()
    ctx.extend(res.findings)
    if not res.complete:
        raise _MalformedError(res.error or "pickle did not complete")
    return res


def _count(res: WalkResult) -> int:
    n = const_int(res.value)
    if n is None or n < 0:
        raise _MalformedError("expected a record count")
    return n


def _storages(ctx: ScanContext, win: Window, loc: Location) -> None:
    for _ in range(_count(_walk(ctx, win, loc))):
        items = tuple_items(_walk(ctx, win, loc).value)
        stype = items[2] if items and len(items) == 3 else None
        if not isinstance(stype, GlobalRef) or stype.name not in _ELEMENT_SIZE:
            raise _MalformedError("storage record without a known storage type")
        (numel,) = struct.unpack("<q", win.read_exact(8))
        if numel < 0:
            raise _MalformedError("negative storage size")
        win.skip(numel * _ELEMENT_SIZE[stype.name])
    _walk(ctx, win, loc)  # storage views


def _tensors(ctx: ScanContext, win: Window, loc: Location) -> None:
    for _ in range(_count(_walk(ctx, win, loc))):
        _walk(ctx, win, loc)
        (ndim,) = struct.unpack("<i", win.read_exact(4))
        if not 0 <= ndim <= 64:
            raise _MalformedError("implausible tensor rank")
        win.skip(4 + 16 * ndim + 8)


def scan_torch_legacy_tar(
    ctx: ScanContext, win: Window, loc: Location, members: list[tarfile.TarInfo]
) -> None:
    for m in members:
        child = loc.child(m.name)
        if not m.isfile():
            continue
        sub = ctx.track(win.sub(m.offset_data, m.size))
        ctx.inner_formats[child.inner_path] = "pickle"
        try:
            if m.name == "storages":
                _storages(ctx, sub, child)
            elif m.name == "tensors":
                _tensors(ctx, sub, child)
            elif m.name in ("pickle", "sys_info"):
                scan_pickle_stream(ctx, sub, child, persistent_ok=True)
            else:
                ctx.scan_inner(sub, child)
        except (_MalformedError, TruncatedError, struct.error) as exc:
            ctx.add(
                Severity.ERROR,
                "torch-legacy-malformed",
                f"legacy torch member cannot be followed: {exc}",
                child,
                "torch-legacy-tar",
            )
