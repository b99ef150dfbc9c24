"""Scan reports as SARIF 2.1.0, the format GitHub code scanning (and most CI dashboards) read.

One SARIF rule per finding rule id, with help text; one result per finding. Locations are the
scanned file relative to the root it was found under (``uriBaseId`` names that root), plus a
logical location for the member path inside an archive. Plain data in, a JSON-ready dict out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import SCANNER_VERSION, Finding, ScanReport, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

LEVELS = {
    Severity.MALICIOUS: "error",
    Severity.ERROR: "error",  # could not be analysed: blocked like a malicious file (fail closed)
    Severity.SUSPICIOUS: "warning",
    Severity.INFO: "note",
}

# GitHub code scanning ranks security alerts by this CVSS-like score (rule property).
SECURITY_SEVERITY = {
    Severity.MALICIOUS: "9.8",
    Severity.ERROR: "7.0",
    Severity.SUSPICIOUS: "5.0",
    Severity.INFO: "0.0",
}

# What a reader should do about each family of rules; the rule's own messages say the specifics.
_HELP_BY_PREFIX: tuple[tuple[str, str], ...] = (
    (
        "pickle-denied",
        "The pickle imports a callable that can run code, touch files or the "
        "network when the file is loaded (pickle.load, torch.load(weights_only=False), joblib.load)."
        " Do not load it; prefer safetensors.",
    ),
    (
        "pickle-unknown",
        "The pickle imports a global that is not on the reviewed allow-list. "
        "Loading it imports and may call that code. Review it; an admin can allow it with "
        "--allow-global MODULE.NAME.",
    ),
    (
        "pickle",
        "The pickle stream does something an ordinary checkpoint does not (computed "
        "callables, persistent ids, hijacked state). Treat it as untrusted code.",
    ),
    ("fickling", "Evidence from fickling's static analysis of the same pickle."),
    (
        "torchscript",
        "TorchScript run by torch.jit.load (and torch.load) references an operator "
        "that reads or writes files, touches raw memory, or comes from a native library.",
    ),
    (
        "python",
        "Python source that trust_remote_code would execute. Review it before enabling "
        "remote code.",
    ),
    ("template", "A chat template that reaches Python attributes when rendered."),
    (
        "zip",
        "The archive is structured in a way its loader reads differently from a plain zip "
        "reader. Re-create it with the standard tools.",
    ),
    ("archive", "A nested archive exceeded a safety limit or hides paths or links."),
    (
        "polyglot",
        "The file is valid as two formats; a loader may pick the one that was not checked.",
    ),
)
_DEFAULT_HELP = (
    "The file could not be fully analysed or looks unusual for its format. Files "
    "that cannot be analysed are treated as blocked."
)


def _help(rule: str) -> str:
    for prefix, text in _HELP_BY_PREFIX:
        if rule.startswith(prefix):
            return text
    return _DEFAULT_HELP


@dataclass(frozen=True)
class ScannedFile:
    """One scanned file: its root (as given on the command line) and its path under that root."""

    root: str
    relative: str
    report: ScanReport | None
    error: str | None = None  # the file could not be read


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:32]


def to_sarif(
    files: list[ScannedFile], *, tool_version: str, verbose: bool = False
) -> dict[str, Any]:
    roots: dict[str, str] = {}
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []

    def base_id(root: str) -> str:
        if root not in roots:
            roots[root] = f"ROOT{len(roots)}"
        return roots[root]

    def rule_index(rule: str, finding: Finding | None) -> int:
        if rule not in rules:
            severity = finding.severity if finding else Severity.ERROR
            rules[rule] = {
                "id": rule,
                "name": "".join(w.capitalize() for w in rule.split("-")),
                "shortDescription": {"text": rule.replace("-", " ")},
                "fullDescription": {"text": _help(rule)},
                "help": {"text": _help(rule)},
                "defaultConfiguration": {"level": LEVELS[severity]},
                "properties": {
                    "tags": ["security", "model-file"],
                    "security-severity": SECURITY_SEVERITY[severity],
                },
            }
        return list(rules).index(rule)

    for f in files:
        artifact = {"uri": f.relative, "uriBaseId": base_id(f.root)}
        if f.report is None:
            results.append(
                {
                    "ruleId": "file-unreadable",
                    "ruleIndex": rule_index("file-unreadable", None),
                    "level": "error",
                    "message": {"text": f"cannot read the file: {f.error}"},
                    "locations": [{"physicalLocation": {"artifactLocation": artifact}}],
                    "partialFingerprints": {
                        "modelvault/v1": _fingerprint(f.relative, "unreadable")
                    },
                }
            )
            continue
        for finding in f.report.findings:
            if finding.severity is Severity.INFO and not verbose:
                continue
            physical: dict[str, Any] = {"artifactLocation": artifact}
            if finding.offset is not None and not finding.inner_path:
                physical["region"] = {"byteOffset": finding.offset}
            location: dict[str, Any] = {"physicalLocation": physical}
            if finding.inner_path:
                location["logicalLocations"] = [
                    {
                        "name": finding.inner_path.rsplit("/", 1)[-1],
                        "fullyQualifiedName": finding.inner_path,
                        "kind": "resource",
                    }
                ]
            where = f" (in {finding.inner_path})" if finding.inner_path else ""
            results.append(
                {
                    "ruleId": finding.rule,
                    "ruleIndex": rule_index(finding.rule, finding),
                    "level": LEVELS[finding.severity],
                    "message": {"text": f"{finding.message}{where}"},
                    "locations": [location],
                    "partialFingerprints": {
                        "modelvault/v1": _fingerprint(
                            f.relative, finding.inner_path, finding.rule, finding.global_
                        )
                    },
                    "properties": {
                        "severity": finding.severity.label,
                        "verdict": f.report.verdict.value,
                        "format": finding.format,
                        "global": finding.global_,
                        "innerOffset": finding.offset if finding.inner_path else None,
                    },
                }
            )
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ModelVault scanner",
                        "version": tool_version,
                        "semanticVersion": SCANNER_VERSION,
                        "rules": list(rules.values()),
                    }
                },
                "originalUriBaseIds": {
                    bid: {"uri": Path(root).resolve().as_uri().rstrip("/") + "/"}
                    for root, bid in roots.items()
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
