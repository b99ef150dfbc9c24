"""Scan verdicts: the worst finding's severity names a blob's verdict."""

from __future__ import annotations

from typing import Any

_RANK = {"malicious": 3, "error": 2, "suspicious": 1}


def verdict_of(findings: list[dict[str, Any]]) -> str:
    worst = max((_RANK.get(str(f.get("severity")), 0) for f in findings), default=0)
    return {3: "malicious", 2: "error", 1: "suspicious", 0: "clean"}[worst]
