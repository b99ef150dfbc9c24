"""Per-scan state shared by the format scanners: limits, location, findings, budgets."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from .allowlist import GlobalPolicy
from .models import Finding, Severity
from .stream import Window


@dataclass(frozen=True)
class Limits:
    """Resource bounds; exceeding one is a finding (and makes the analysis incomplete)."""

    max_depth: int = 6
    max_expansion_ratio: float = 250.0
    max_total_expanded_bytes: int = 16 << 30
    max_archive_entries: int = 100_000
    spool_memory_bytes: int = 8 << 20


@dataclass(frozen=True)
class Location:
    """Where the current (inner) file lives: archive path and nesting depth."""

    inner_path: str = ""
    depth: int = 0
    name_hint: str | None = None

    def child(self, name: str) -> Location:
        path = f"{self.inner_path}/{name}" if self.inner_path else name
        return Location(inner_path=path, depth=self.depth + 1, name_hint=name)


class BudgetExceededError(Exception):
    """Decompression went past a limit (a bomb, or simply too big to analyse)."""


Dispatch = Callable[["ScanContext", Window, Location], str]


class ScanContext:
    def __init__(self, policy: GlobalPolicy, limits: Limits, dispatch: Dispatch) -> None:
        self.policy = policy
        self.limits = limits
        self._dispatch = dispatch
        self.findings: list[Finding] = []
        self.inner_formats: dict[str, str] = {}
        self.expanded_bytes = 0
        self.extra_bytes_read = 0
        self._windows: list[Window] = []

    # -- findings ----------------------------------------------------------------------------
    def add(
        self,
        severity: Severity,
        rule: str,
        message: str,
        loc: Location,
        fmt: str | None,
        *,
        global_: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                severity=severity,
                rule=rule,
                message=message,
                global_=global_,
                offset=offset,
                inner_path=loc.inner_path,
                format=fmt,
            )
        )

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    @contextmanager
    def policy_scope(self, policy: GlobalPolicy) -> Iterator[None]:
        """Judge pickle globals with ``policy`` inside the block (TorchScript archives)."""
        saved, self.policy = self.policy, policy
        try:
            yield
        finally:
            self.policy = saved

    # -- accounting --------------------------------------------------------------------------
    def track(self, win: Window) -> Window:
        self._windows.append(win)
        return win

    @property
    def bytes_scanned(self) -> int:
        return self.extra_bytes_read + sum(w.consumed for w in self._windows)

    # -- recursion ---------------------------------------------------------------------------
    def scan_inner(self, win: Window, loc: Location) -> str:
        """Scan a nested file (archive member, decompressed stream) with full format detection."""
        if loc.depth > self.limits.max_depth:
            self.add(
                Severity.ERROR,
                "archive-too-deep",
                f"nesting deeper than {self.limits.max_depth} levels was not analysed",
                loc,
                None,
            )
            return "too-deep"
        fmt = self._dispatch(self, self.track(win), loc)
        if loc.inner_path:
            self.inner_formats[loc.inner_path] = fmt
        return fmt

    @contextmanager
    def spool(self) -> Iterator[IO[bytes]]:
        """A temporary file for decompressed content (memory first, then disk)."""
        tmp = tempfile.SpooledTemporaryFile(max_size=self.limits.spool_memory_bytes)  # noqa: SIM115
        try:
            yield tmp
        finally:
            tmp.close()

    def expand_into(
        self, reader: Callable[[int], bytes], out: IO[bytes], compressed_size: int, loc: Location
    ) -> int:
        """Copy a decompressing ``reader`` into ``out`` within the ratio and total budgets."""
        limit_ratio = int(max(compressed_size, 1024) * self.limits.max_expansion_ratio)
        written = 0
        while True:
            chunk = reader(1 << 20)
            if not chunk:
                break
            written += len(chunk)
            self.expanded_bytes += len(chunk)
            if written > limit_ratio:
                raise BudgetExceededError(
                    f"expands more than {self.limits.max_expansion_ratio:g}x "
                    f"({compressed_size} compressed bytes)"
                )
            if self.expanded_bytes > self.limits.max_total_expanded_bytes:
                raise BudgetExceededError("total decompressed size budget exceeded")
            out.write(chunk)
        out.flush()
        out.seek(0)
        return written

    def bomb(self, loc: Location, fmt: str, message: str) -> None:
        self.add(Severity.SUSPICIOUS, "archive-bomb", message, loc, fmt)
        self.add(
            Severity.ERROR,
            "analysis-incomplete",
            "content past the decompression limit was not analysed",
            loc,
            fmt,
        )
