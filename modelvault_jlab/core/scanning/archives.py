"""Containers: zip (incl. torch/keras/npz routing), tar and 7z (compressed streams:
:mod:`.compressed`).

Stored members are scanned in place through sub-windows (no copy); compressed members are
decompressed into a spooled temp file under the expansion-ratio and total-size budgets, so bombs
become findings (``archive-bomb`` + ``analysis-incomplete``), never crashes or full disks.
"""

from __future__ import annotations

import tarfile
import tempfile
from typing import IO

from .compressed import MIN_RATIO_BASE, WindowIO, zip_member
from .context import BudgetExceededError, Location, ScanContext
from .keras import scan_keras_zip_config
from .models import Severity
from .pickle import scan_pickle_stream
from .pickle_walk import PickleWalker, looks_like_pickle_head
from .stream import Window
from .torch_legacy import scan_torch_legacy_tar
from .torch_zip import is_torch_pickle, is_torch_record, torch_archive_prefix
from .torchscript import is_torchscript, is_torchscript_source, scan_torchscript_source
from .zipparse import ZipFormatError, read_zip
from .zipseq import split_zip_sequence

_NOTE_SEVERITY = {
    "zip-truncated": Severity.ERROR,
}


def _is_torch_data(name: str, prefix: str) -> bool:
    rest = name[len(prefix) :] if name.startswith(prefix) else None
    if rest is None:
        return False
    if rest.startswith("data/") and rest[5:].isdigit():
        return True
    return rest in (
        "byteorder",
        "version",
        ".format_version",
        ".storage_alignment",
        ".data/version",
        ".data/serialization_id",
    )


def classify_zip(names: list[str], central_names: list[str] | None = None) -> tuple[str, str]:
    """(kind, torch archive prefix): kind is torch-zip, keras, npz or zip.

    ``central_names``: every central-directory name in order (torch takes its folder from the
    first one, see :mod:`.torch_zip`); defaults to ``names``.
    """
    prefix = torch_archive_prefix(names if central_names is None else central_names)
    if prefix is not None and any(is_torch_record(n, prefix, "data.pkl") for n in names):
        return "torch-zip", prefix
    if "config.json" in names:  # all Keras reads from a .keras zip (metadata.json is optional)
        return "keras", ""
    if names and all(n.endswith(".npy") for n in names):
        return "npz", ""
    return "zip", ""


def scan_zip(ctx: ScanContext, win: Window, loc: Location) -> str:

    try:
        listing = read_zip(win, ctx.limits.max_archive_entries)
    except ZipFormatError as exc:
        ctx.add(
            Severity.ERROR, "zip-unreadable", f"zip structure cannot be read: {exc}", loc, "zip"
        )
        return "zip"
    if listing.prepended > 0:
        segments = split_zip_sequence(win, ctx.limits.max_archive_entries)
        if segments is not None:  # torch.distributed.checkpoint shard: archives back to back
            for start, end in segments:
                scan_zip(ctx, win.sub(start, end - start), loc.child(f"[zip@{start}]"))
            return "zip-sequence"
    for rule, msg, off in listing.notes:
        ctx.add(_NOTE_SEVERITY.get(rule, Severity.SUSPICIOUS), rule, msg, loc, "zip", offset=off)
    if listing.prepended > 0:
        ctx.add(
            Severity.SUSPICIOUS,
            "zip-prepended-data",
            f"{listing.prepended} bytes precede the zip archive",
            loc,
            "zip",
            offset=0,
        )
    names = [e.name for e in listing.entries if not e.is_dir]
    kind, prefix = classify_zip(names, [e.name for e in listing.entries if e.from_central])
    if kind == "keras":  # transformers' zips with a config.json are checked the same way
        scan_keras_zip_config(ctx, win, listing, loc)
    torchscript = kind == "torch-zip" and is_torchscript(names, prefix)
    if (
        not torchscript
        and kind == "torch-zip"
        and any(n.startswith(f"{prefix}code/") for n in names)
    ):
        ctx.add(
            Severity.SUSPICIOUS,
            "torchscript-code",
            "TorchScript archive: its code/ entries run on torch.jit.load",
            loc,
            kind,
        )
    # TorchScript pickles are read by torch's C++ unpickler: __torch__.* are the archive's classes
    policy = ctx.policy.for_torchscript() if torchscript else ctx.policy
    for entry in listing.entries:
        if entry.is_dir:
            continue
        child = loc.child(entry.name)
        if torchscript and is_torchscript_source(entry.name, prefix):
            with zip_member(ctx, win, entry, child) as inner:
                if inner is not None:
                    ctx.inner_formats[child.inner_path] = scan_torchscript_source(ctx, inner, child)
            continue
        if (
            not torchscript
            and kind == "torch-zip"
            and entry.name.startswith(f"{prefix}code/")
            and not entry.name.endswith(".pkl")
        ):
            continue  # TorchScript source/debug info, reported once above
        if kind == "keras" and entry.name == "config.json":
            continue  # analysed above, whatever its text encoding
        if entry.encrypted:
            ctx.add(
                Severity.SUSPICIOUS,
                "zip-encrypted-flag",
                "entry is flagged as encrypted; analysed as plain data",
                child,
                "zip",
                offset=entry.header_offset,
            )
        if kind == "torch-zip" and _is_torch_data(entry.name, prefix) and entry.method == 0:
            # Raw tensor bytes that torch.load never unpickles: do not read them. Only a cheap
            # check that nobody parked a well-formed malicious pickle there.
            head = win.read_at(entry.data_offset, 2) if entry.data_offset >= 0 else b""
            if looks_like_pickle_head(head):
                walker = PickleWalker(
                    win.sub(entry.data_offset, entry.csize), ctx.policy, inner_path=child.inner_path
                )
                res = walker.walk()
                if res.complete:
                    ctx.extend(res.findings)
            continue
        with zip_member(ctx, win, entry, child) as inner:
            if inner is None:
                continue
            if kind == "torch-zip" and is_torch_pickle(entry.name, prefix):
                ctx.track(inner)
                ctx.inner_formats[child.inner_path] = "pickle"
                with ctx.policy_scope(policy):
                    scan_pickle_stream(ctx, inner, child, fmt="pickle", persistent_ok=True)
            else:
                ctx.scan_inner(inner, child)
    return kind


# -- tar -------------------------------------------------------------------------------------------
def scan_tar(ctx: ScanContext, win: Window, loc: Location) -> str:
    try:
        tf = tarfile.open(fileobj=WindowIO(win), mode="r:")  # type: ignore[arg-type]  # noqa: SIM115
        members = []
        for i, m in enumerate(tf):
            if i >= ctx.limits.max_archive_entries:
                ctx.add(
                    Severity.ERROR,
                    "archive-too-many-entries",
                    "too many tar members to analyse",
                    loc,
                    "tar",
                )
                break
            members.append(m)
    except (tarfile.TarError, OSError, EOFError) as exc:
        ctx.add(
            Severity.ERROR, "tar-unreadable", f"tar structure cannot be read: {exc}", loc, "tar"
        )
        return "tar"
    names = {m.name for m in members}
    if {"pickle", "storages", "tensors"} <= names:
        scan_torch_legacy_tar(ctx, win, loc, members)
        return "torch-legacy-tar"
    for m in members:
        child = loc.child(m.name)
        if m.name.startswith("/") or ".." in m.name.split("/"):
            ctx.add(
                Severity.SUSPICIOUS,
                "archive-unsafe-path",
                "member path escapes the extraction directory",
                child,
                "tar",
            )
        if m.issym() or m.islnk():
            ctx.add(
                Severity.SUSPICIOUS,
                "archive-link",
                f"member is a link to {m.linkname!r}",
                child,
                "tar",
            )
            continue
        if not m.isfile():
            continue
        if m.offset_data + m.size > win.length:
            ctx.add(
                Severity.ERROR,
                "tar-truncated",
                "member runs past the end of the archive",
                child,
                "tar",
            )
            continue
        ctx.scan_inner(win.sub(m.offset_data, m.size), child)
    return "tar"


# -- 7z --------------------------------------------------------------------------------------------
def scan_7z(ctx: ScanContext, win: Window, loc: Location) -> str:
    try:
        import py7zr
        from py7zr.io import Py7zIO, WriterFactory
    except ImportError:
        ctx.add(
            Severity.ERROR,
            "unsupported-compression",
            "7z support (py7zr) is not installed; content not analysed",
            loc,
            "7z",
        )
        return "7z"
    limit = int(max(win.length, MIN_RATIO_BASE) * ctx.limits.max_expansion_ratio)
    spools: dict[str, IO[bytes]] = {}
    total = [0]

    class _Sink(Py7zIO):
        def __init__(self, name: str) -> None:
            # On disk: py7zr extracts every member before any is scanned, so in-memory spools
            # of many members would add up. Closed by scan_7z's finally block.
            self._f: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
            spools[name] = self._f

        def write(self, s: bytes | bytearray) -> int:
            ctx.charge()
            total[0] += len(s)
            ctx.expanded_bytes += len(s)
            if total[0] > limit or ctx.expanded_bytes > ctx.expansion_budget:
                raise BudgetExceededError("7z content expands past the limit")
            return self._f.write(s)

        def read(self, size: int | None = None) -> bytes:
            return self._f.read(size if size is not None else -1)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self._f.seek(offset, whence)

        def flush(self) -> None:
            self._f.flush()

        def size(self) -> int:
            return total[0]

    class _Factory(WriterFactory):
        def create(self, filename: str) -> Py7zIO:
            return _Sink(filename)

    try:
        with py7zr.SevenZipFile(WindowIO(win), mode="r") as archive:  # type: ignore[arg-type]
            if archive.needs_password():
                ctx.add(
                    Severity.ERROR,
                    "archive-encrypted",
                    "encrypted 7z archive cannot be analysed",
                    loc,
                    "7z",
                )
                return "7z"
            archive.extractall(factory=_Factory())  # noqa: S202 - into memory sinks, no paths
    except BudgetExceededError as exc:
        ctx.bomb(loc, "7z", str(exc))
    except Exception as exc:  # py7zr raises many types on hostile input
        ctx.add(
            Severity.ERROR,
            "7z-unreadable",
            f"7z archive cannot be read: {type(exc).__name__}",
            loc,
            "7z",
        )
    try:
        for name, f in spools.items():
            size = f.seek(0, 2)
            f.seek(0)
            ctx.scan_inner(Window(f, 0, size), loc.child(name))  # type: ignore[arg-type]
    finally:
        for f in spools.values():
            f.close()
    return "7z"
