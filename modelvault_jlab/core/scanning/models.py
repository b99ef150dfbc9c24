"""Scan results: severities, verdicts, findings and reports.

Everything here is plain data and JSON-serialisable (``to_dict`` / ``from_dict``) because the vault
stores one report per blob sha256 and must be able to read reports written by older scanners.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Bump whenever detection logic or the shipped allow-list changes: stored reports carry it, so
#: the vault knows which blobs to rescan.
SCANNER_VERSION = "1.2.0"


class Severity(enum.IntEnum):
    """Ordered severity of one finding.

    ``ERROR`` ranks above ``SUSPICIOUS``: a file we could not fully analyse may hide anything,
    so the caller must treat it as blocked (fail closed); only ``MALICIOUS`` outranks it.
    ``INFO`` findings are evidence that never changes the verdict.
    """

    INFO = 0
    SUSPICIOUS = 1
    ERROR = 2
    MALICIOUS = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Severity:
        return cls[label.upper()]


class Verdict(enum.Enum):
    """Overall outcome of a scan."""

    CLEAN = "clean"
    SUSPICIOUS = "suspicious"
    MALICIOUS = "malicious"
    ERROR = "error"

    @classmethod
    def from_severity(cls, severity: Severity | None) -> Verdict:
        if severity is None or severity is Severity.INFO:
            return cls.CLEAN
        return {
            Severity.SUSPICIOUS: cls.SUSPICIOUS,
            Severity.ERROR: cls.ERROR,
            Severity.MALICIOUS: cls.MALICIOUS,
        }[severity]

    @property
    def rank(self) -> int:
        """Order used to combine verdicts: clean < suspicious < error < malicious."""
        return _VERDICT_RANK[self]

    @property
    def is_flagged(self) -> bool:
        return self in (Verdict.SUSPICIOUS, Verdict.MALICIOUS)


_VERDICT_RANK = {Verdict.CLEAN: 0, Verdict.SUSPICIOUS: 1, Verdict.ERROR: 2, Verdict.MALICIOUS: 3}


@dataclass(frozen=True)
class Finding:
    """One piece of evidence.

    Attributes:
        severity: How bad this finding is on its own.
        rule: Stable machine-readable rule id, e.g. ``pickle-denied-global``.
        message: Human-readable explanation; never contains filesystem paths.
        global_: ``module.name`` of a pickle global, when relevant (``global`` in JSON).
        offset: Byte offset of the opcode/structure inside the (inner) file.
        inner_path: Path inside archives, ``/``-joined for nesting; ``""`` for the file itself.
        format: Format of the (inner) file the finding is about.
    """

    severity: Severity
    rule: str
    message: str
    global_: str | None = None
    offset: int | None = None
    inner_path: str = ""
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.label,
            "rule": self.rule,
            "message": self.message,
            "global": self.global_,
            "offset": self.offset,
            "inner_path": self.inner_path,
            "format": self.format,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        offset = data.get("offset")
        return cls(
            severity=Severity.from_label(str(data["severity"])),
            rule=str(data["rule"]),
            message=str(data["message"]),
            global_=data.get("global"),
            offset=int(offset) if offset is not None else None,
            inner_path=str(data.get("inner_path") or ""),
            format=data.get("format"),
        )


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    worst: Severity | None = None
    for f in findings:
        if worst is None or f.severity > worst:
            worst = f.severity
    return Verdict.from_severity(worst)


@dataclass
class ScanReport:
    """The result of scanning one file (including everything nested in it)."""

    verdict: Verdict
    findings: list[Finding]
    format: str
    bytes_scanned: int
    duration_seconds: float
    size: int
    scanner_version: str = SCANNER_VERSION
    inner_formats: dict[str, str] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        return self.verdict is Verdict.CLEAN

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "findings": [f.to_dict() for f in self.findings],
            "format": self.format,
            "bytes_scanned": self.bytes_scanned,
            "duration_seconds": self.duration_seconds,
            "size": self.size,
            "scanner_version": self.scanner_version,
            "inner_formats": dict(self.inner_formats),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanReport:
        return cls(
            verdict=Verdict(data["verdict"]),
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            format=str(data.get("format", "unknown")),
            bytes_scanned=int(data.get("bytes_scanned", 0)),
            duration_seconds=float(data.get("duration_seconds", 0.0)),
            size=int(data.get("size", 0)),
            scanner_version=str(data.get("scanner_version", "")),
            inner_formats={str(k): str(v) for k, v in dict(data.get("inner_formats", {})).items()},
        )
