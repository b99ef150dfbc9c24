"""ScanEngine: the public entry point. Pure domain code (no web/Jupyter imports)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .allowlist import GlobalPolicy
from .archives import scan_zip
from .context import Limits, Location, ScanContext
from .detect import HEAD_SIZE, detect_format
from .models import SCANNER_VERSION, Finding, ScanReport, Severity, verdict_of
from .pickle import check_pickle_at_start
from .python_src import is_python
from .registry import SCANNERS
from .stream import Window
from .zipparse import find_eocd


class ScanEngine:
    """Static scanner for model repository files.

    Args:
        extra_allowed_globals: ``module.name`` pickle globals an admin allows on top of the
            shipped allow-list (``data/pickle_allowlist.json``).
        max_depth: Maximum archive/compression nesting depth analysed.
        max_expansion_ratio: Maximum decompressed/compressed ratio per member.
        max_total_expanded_bytes: Maximum bytes decompressed per scanned file.

    Scans never raise on hostile input: every problem becomes a finding, and anything that could
    not be analysed yields verdict ``error`` (fail closed).
    """

    def __init__(
        self,
        extra_allowed_globals: Iterable[str] = frozenset(),
        *,
        max_depth: int = 6,
        max_expansion_ratio: float = 250.0,
        max_total_expanded_bytes: int = 16 << 30,
    ) -> None:
        self.policy = GlobalPolicy.default(extra_allowed_globals)
        self.limits = Limits(
            max_depth=max_depth,
            max_expansion_ratio=max_expansion_ratio,
            max_total_expanded_bytes=max_total_expanded_bytes,
        )

    def scan_file(
        self, path: os.PathLike[str] | str, *, name_hint: str | None = None
    ) -> ScanReport:
        p = Path(path)
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            return self.scan_fileobj(f, size, name_hint=name_hint or p.name)

    def scan_fileobj(
        self, fileobj: BinaryIO, size: int, *, name_hint: str | None = None
    ) -> ScanReport:
        started = time.perf_counter()
        ctx = ScanContext(self.policy, self.limits, dispatch)
        loc = Location(inner_path="", depth=0, name_hint=name_hint)
        win = ctx.track(Window(fileobj, 0, size))
        try:
            fmt = dispatch(ctx, win, loc)
        except Exception as exc:  # fail closed on any scanner bug
            fmt = "unknown"
            ctx.add(
                Severity.ERROR,
                "scanner-error",
                f"internal scanner error: {type(exc).__name__}: {exc}",
                loc,
                None,
            )
        findings = _dedupe(ctx.findings)
        return ScanReport(
            verdict=verdict_of(findings),
            findings=findings,
            format=fmt,
            bytes_scanned=ctx.bytes_scanned,
            duration_seconds=round(time.perf_counter() - started, 6),
            size=size,
            scanner_version=SCANNER_VERSION,
            inner_formats=ctx.inner_formats,
        )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[object, ...]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.severity, f.rule, f.global_, f.inner_path, f.offset, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    out.sort(key=lambda f: -int(f.severity))
    return out


def dispatch(ctx: ScanContext, win: Window, loc: Location) -> str:
    """Identify ``win``'s format by content and run its scanner."""
    head = win.read_at(0, HEAD_SIZE)
    fmt = detect_format(head, win.length, loc.name_hint)
    fmt = check_pickle_at_start(ctx, win, loc, fmt)
    if fmt == "text" and is_python(head, loc):
        fmt = "python"
    scanner = SCANNERS.get(fmt)
    result = fmt
    if scanner is not None:
        win.seek(0)
        result = scanner(ctx, win, loc)
    # zipfile (Keras, npz readers, anything calling zipfile.is_zipfile) finds an end-of-central-
    # directory record behind any prefix, whatever the file was sniffed as.
    if fmt != "zip" and win.length >= 22 and find_eocd(win) is not None:
        before = len(ctx.findings)
        scan_zip(ctx, win.sub(0, win.length), loc)
        zip_rules = {f.rule for f in ctx.findings[before:]}
        if "zip-unreadable" in zip_rules:
            del ctx.findings[before:]  # the bytes PK\5\6 were just data
        else:
            ctx.add(
                Severity.SUSPICIOUS,
                "polyglot-zip",
                f"file is both {fmt} and a zip archive",
                loc,
                fmt,
            )
    return result
