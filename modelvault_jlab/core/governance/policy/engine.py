"""Policies and the decisions they make about a repo at a commit and about one file.

A policy has a name (what users see: ``blocked by policy 'approved-licenses': …``), a kind, an
action (``block``, ``warn``, ``audit``) and parameters. Global policies live in metadata and a
repository may override them by name in its config (``{"policies": [{"name": …, …}]}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ....errors import InvalidInputError
from ....storage.records import REPOSITORY_KINDS as STORED_KINDS
from .licenses import DEFAULT_ALLOWED, LicenseInfo, UnreadableLicenseError, licence_key

Action = Literal["block", "warn", "audit"]
ACTIONS: tuple[str, ...] = ("block", "warn", "audit")
KINDS = ("scan", "license", "custom-code")


_RANK = {"audit": 0, "warn": 1, "block": 2}
VERDICTS = ("malicious", "error", "suspicious", "clean")
REPOSITORY_KINDS = (*STORED_KINDS, "files")
"""Where a policy may apply: repository kinds, and ``files`` (generic files of bundles)."""


def capped(effect: Action, action: Action) -> Action:
    """The precedence rule: a policy's ``action`` is the most it can do. A parameter that picks
    an effect (``unlicensed``, ``not_allowed``, the verdict lists) can only make it milder, so
    an ``audit`` policy never blocks or warns and a ``warn`` policy never blocks."""
    return effect if _RANK[effect] <= _RANK[action] else action


def _strings(name: str, key: str, value: Any, choices: Sequence[str] | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"Policy {name!r}: {key!r} must be a list of strings.")
    if len(value) > 1000:
        raise InvalidInputError(f"Policy {name!r}: {key!r} lists more than 1000 entries.")
    for v in value:
        if choices is not None and v not in choices:
            raise InvalidInputError(
                f"Policy {name!r}: {key!r} has {v[:60]!r}; expected values from {choices}."
            )
    return list(value)


def _licence_keys(name: str, key: str, value: Any) -> list[str]:
    out = _strings(name, key, value)
    for v in out:
        try:
            licence_key(v)
        except UnreadableLicenseError as exc:
            raise InvalidInputError(
                f"Policy {name!r}: {key!r} entry is not one SPDX licence id, "
                f"'<id> WITH <exception>', a Hub licence id or a LicenseRef-: {exc}."
            ) from None
    return out


def _effect(name: str, key: str, value: Any) -> str:
    if value not in ACTIONS:
        raise InvalidInputError(f"Policy {name!r}: {key!r} must be one of {ACTIONS}.")
    return str(value)


_PARAMS: dict[str, dict[str, Callable[[str, str, Any], Any]]] = {
    "license": {
        "allow": _licence_keys,
        "deny": _licence_keys,
        "unlicensed": _effect,
        "not_allowed": _effect,
    },
    "scan": {
        "block": lambda n, k, v: _strings(n, k, v, VERDICTS),
        "warn": lambda n, k, v: _strings(n, k, v, VERDICTS),
    },
    "custom-code": {},
}
_FIELDS = ("name", "kind", "action", "params")
#: What GET answers beside the fields (``summary``; ``enabled: true``): a policy list read from
#: the API can be sent back unchanged. ``enabled: false`` is taken off the list before this.
_READ_BACK = {"summary": lambda v: isinstance(v, str), "enabled": lambda v: v is True}


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
        """A validated policy: unknown fields, parameters or values are refused with the reason,
        so that what an operator wrote is what the gate does."""
        if not isinstance(data, dict):
            raise InvalidInputError("A policy is a JSON object.")
        name, kind, action = data.get("name"), data.get("kind"), data.get("action", "block")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise InvalidInputError("A policy needs a 'name' of 1-64 characters.")
        unknown = sorted(
            str(k)[:40]
            for k, v in data.items()
            if k not in _FIELDS and not (k in _READ_BACK and _READ_BACK[k](v))
        )
        if unknown:
            raise InvalidInputError(
                f"Policy {name!r}: unknown field(s) {unknown}; a policy has {_FIELDS}."
            )
        if kind not in KINDS:
            raise InvalidInputError(f"Policy {name!r}: 'kind' must be one of {KINDS}.")
        if action not in ACTIONS:
            raise InvalidInputError(f"Policy {name!r}: 'action' must be one of {ACTIONS}.")
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise InvalidInputError(f"Policy {name!r}: 'params' must be an object.")
        checks: dict[str, Callable[[str, str, Any], Any]] = {
            **_PARAMS[kind],
            "repository_kinds": lambda n, k, v: _strings(n, k, v, REPOSITORY_KINDS),
        }
        for key, value in params.items():
            if key not in checks:
                raise InvalidInputError(
                    f"Policy {name!r}: unknown parameter {str(key)[:40]!r} for a {kind} "
                    f"policy; known: {sorted(checks)}."
                )
            checks[key](name, key, value)
        return cls(name, kind, action, dict(params))

    def effect(self, param: str, default: Action | None = None) -> Action:
        """What a parameter's case does under the precedence rule (see :func:`capped`)."""
        return capped(self.params.get(param, default or self.action), self.action)

    def summary(self) -> str:
        """What the policy does, in one sentence an operator can check (the sidebar shows it)."""
        if self.kind == "license":
            allow = self.params.get("allow") or []
            deny = self.params.get("deny") or []
            parts = [
                f"licences denied ({', '.join(deny[:5]) or 'none'}): {self.action}",
                f"no or unreadable licence: {self.effect('unlicensed')}",
            ]
            if allow:
                parts.append(
                    f"not on the {len(allow)}-licence approved list: {self.effect('not_allowed')}"
                )
            text = "; ".join(parts)
        elif self.kind == "scan":
            blocks = self.params.get("block", ["malicious", "error"])
            warns = self.params.get("warn", ["suspicious"])
            text = (
                f"scan verdict {'/'.join(blocks) or 'none'}: {capped('block', self.action)}; "
                f"{'/'.join(warns) or 'none'}: {capped('warn', self.action)}"
            )
        else:
            text = f"custom Python code (trust_remote_code): {self.action}"
        kinds = self.params.get("repository_kinds")
        return text + (f" (in {', '.join(kinds)} repositories)" if kinds else "")


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
    keeping those that apply to this kind of repository (param ``repository_kinds``).

    An override replaces the fields it names and merges its ``params`` into the global ones;
    the result is validated like any policy (InvalidInputError says what is wrong).
    """
    by_name = {p.name: p for p in global_policies}
    for raw in overrides:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise InvalidInputError("A policy override is an object with a 'name'.")
        base = by_name.get(raw["name"])
        merged = {**(base.to_dict() if base else {}), **raw}
        if base and isinstance(raw.get("params"), dict):
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
    """Licence policies applied to a declared licence (see :mod:`.licenses` for how expressions
    are evaluated). A missing or unreadable licence takes the ``unlicensed`` effect."""
    out = []
    for p in policies:
        if p.kind != "license":
            continue
        if info.expression is None:
            reason = (
                f"{what} has no licence"
                if info.error is None
                else (f"{what} has no readable licence: {info.error}")
            )
            out.append(Violation(p.name, p.effect("unlicensed"), reason, {"license": None}))
            continue
        allow = [licence_key(x) for x in p.params.get("allow", [])]
        deny = [licence_key(x) for x in p.params.get("deny", [])]
        result = info.evaluate(allow, deny)
        evidence: dict[str, Any] = {"license": str(info.expression), "source": info.source}
        if result.status == "denied":
            evidence["denied"] = list(result.denied)
            out.append(
                Violation(
                    p.name,
                    p.action,
                    f"{what} is licensed {info.describe()}, which is denied "
                    f"({', '.join(result.denied)})",
                    evidence,
                )
            )
        elif result.status == "not-approved":
            evidence["not_approved"] = list(result.not_approved)
            out.append(
                Violation(
                    p.name,
                    p.effect("not_allowed"),
                    f"{what} is licensed {info.describe()}, which is not on the approved list "
                    f"({', '.join(result.not_approved)} not approved)",
                    evidence,
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
            action = capped("block", p.action)
        elif verdict in p.params.get("warn", ["suspicious"]):
            action = capped("warn", p.action)
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
