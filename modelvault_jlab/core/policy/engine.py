"""Policies and the decisions they make about a repo at a commit and about one file.

A policy has a name (what users see: ``blocked by policy 'approved-licenses': …``), a kind, an
action (``block``, ``warn``, ``audit``) and parameters. Global policies live in metadata and a
repository may override them by name in its config (``{"policies": [{"name": …, …}]}``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...errors import InvalidInputError
from .licenses import DEFAULT_ALLOWED, LicenseInfo, normalise

Action = Literal["block", "warn", "audit"]
ACTIONS: tuple[str, ...] = ("block", "warn", "audit")
KINDS = ("scan", "license", "custom-code")


@dataclass(frozen=True)
class Policy:
    name: str
    kind: str
    action: Action = "block"
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "action": self.action, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        name, kind, action = data.get("name"), data.get("kind"), data.get("action", "block")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise InvalidInputError("A policy needs a 'name' of 1-64 characters.")
        if kind not in KINDS:
            raise InvalidInputError(f"Policy {name!r}: 'kind' must be one of {KINDS}.")
        if action not in ACTIONS:
            raise InvalidInputError(f"Policy {name!r}: 'action' must be one of {ACTIONS}.")
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise InvalidInputError(f"Policy {name!r}: 'params' must be an object.")
        return cls(name, kind, action, params)


DEFAULT_POLICIES: tuple[Policy, ...] = (
    # Fail closed: a file that could not be analysed is blocked like a malicious one.
    Policy(
        "malicious-models",
        "scan",
        "block",
        {"block": ["malicious", "error"], "warn": ["suspicious"]},
    ),
    Policy(
        "approved-licenses",
        "license",
        "block",
        {
            "allow": list(DEFAULT_ALLOWED),
            "deny": [],
            "unlicensed": "block",
            "not_allowed": "warn",
            # What comes in from public hubs; an organisation's own uploads carry no public card.
            "repository_kinds": ["hf-remote", "pypi-remote"],
        },
    ),
    Policy("custom-code", "custom-code", "warn", {}),
)


@dataclass(frozen=True)
class Violation:
    policy: str
    action: Action
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        verb = {"block": "blocked", "warn": "warning", "audit": "audited"}[self.action]
        return f"{verb} by policy '{self.policy}': {self.reason}"


@dataclass(frozen=True)
class Decision:
    violations: tuple[Violation, ...] = ()
    waived: tuple[Violation, ...] = ()

    @property
    def blocking(self) -> Violation | None:
        return next((v for v in self.violations if v.action == "block"), None)

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.action == "warn"]

    def merge(self, other: Decision) -> Decision:
        return Decision(self.violations + other.violations, self.waived + other.waived)


def effective_policies(
    global_policies: Sequence[Policy], overrides: Iterable[Any], repository_kind: str
) -> list[Policy]:
    """Global policies with a repository's overrides applied by name (new names are added),
    keeping those that apply to this kind of repository (param ``repository_kinds``)."""
    by_name = {p.name: p for p in global_policies}
    for raw in overrides:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        base = by_name.get(raw["name"])
        merged = {**(base.to_dict() if base else {}), **raw}
        if base and "params" in raw and isinstance(raw["params"], dict):
            merged["params"] = {**base.params, **raw["params"]}
        by_name[raw["name"]] = Policy.from_dict(merged)
    return [
        p
        for p in by_name.values()
        if repository_kind in p.params.get("repository_kinds", [repository_kind])
    ]


def parse_policies(text: str | None) -> list[Policy]:
    if not text:
        return list(DEFAULT_POLICIES)
    return [Policy.from_dict(p) for p in json.loads(text)]


def license_violations(policies: Sequence[Policy], info: LicenseInfo, what: str) -> list[Violation]:
    out = []
    for p in policies:
        if p.kind != "license" or (p.action == "audit" and not p.params):
            continue
        allow = {normalise(x) for x in p.params.get("allow", [])}
        deny = {normalise(x) for x in p.params.get("deny", [])}
        if info.unlicensed:
            action = p.params.get("unlicensed", p.action)
            if action in ACTIONS:
                out.append(Violation(p.name, action, f"{what} has no licence", {"license": None}))
            continue
        denied = [lic for lic in info.licenses if lic in deny]
        if denied:
            out.append(
                Violation(
                    p.name,
                    p.action,
                    f"{what} is licensed {', '.join(denied)}, which is denied",
                    {"license": denied},
                )
            )
            continue
        # A list of licences in a card means "any of these": one allowed licence suffices.
        if allow and not any(lic in allow for lic in info.licenses):
            action = p.params.get("not_allowed", p.action)
            if action in ACTIONS:
                out.append(
                    Violation(
                        p.name,
                        action,
                        f"{what} is licensed {info.describe()}, which is not on the approved list",
                        {"license": list(info.licenses)},
                    )
                )
    return out


def scan_violations(
    policies: Sequence[Policy], verdict: str, findings: list[dict[str, Any]], path: str
) -> list[Violation]:
    out = []
    for p in policies:
        if p.kind != "scan":
            continue
        action: Action | None = None
        if verdict in p.params.get("block", ["malicious", "error"]):
            action = "block" if p.action == "block" else p.action
        elif verdict in p.params.get("warn", ["suspicious"]):
            action = "warn" if p.action != "audit" else "audit"
        if action is None:
            continue
        rank = {"malicious": 3, "error": 2, "suspicious": 1}
        top = max(findings, key=lambda f: rank.get(str(f.get("severity")), 0)) if findings else {}
        detail = top.get("message") or verdict
        where = f" ({top['global']})" if top.get("global") else ""
        reason = (
            f"{path} could not be analysed (fail closed): {detail}"
            if verdict == "error"
            else f"{path} is {verdict}: {detail}{where}"
        )
        out.append(
            Violation(p.name, action, reason, {"verdict": verdict, "findings": findings[:20]})
        )
    return out


def code_violations(
    policies: Sequence[Policy], code_files: list[str], what: str
) -> list[Violation]:
    if not code_files:
        return []
    shown = ", ".join(code_files[:5]) + (" …" if len(code_files) > 5 else "")
    return [
        Violation(
            p.name,
            p.action,
            f"{what} contains custom Python code ({shown}) that trust_remote_code would run",
            {"files": code_files[:100]},
        )
        for p in policies
        if p.kind == "custom-code"
    ]
