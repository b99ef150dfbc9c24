"""The pickle global policy: an allow-list that decides, a denylist that grades.

The data lives in ``data/pickle_allowlist.json`` and ``data/pickle_allowlist_reviewed.json`` (shipped
with the package, reviewed like code: every reviewed entry carries the argument why its callables are
harmless with attacker-chosen arguments, and wins over the denylist for exactly its names); admins extend the allow-list through ``ScanEngine(extra_allowed_globals=...)``. A global on the
allow-list is fine; anything else is a finding — ``suspicious`` by default, ``malicious`` when it
matches a denied module (prefix), a denied ``module.name``, or contains a denied name component
anywhere in its dotted path (catches attribute traversal such as ``torch.serialization.os.system``).
"""

from __future__ import annotations

import _compat_pickle
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from .models import Severity


def normalise_global(module: str, name: str) -> tuple[str, str]:
    """Apply the Python 2 → 3 renames the unpickler applies (``fix_imports``).

    ``commands.getoutput`` really resolves to ``subprocess.getoutput``; ``__builtin__.eval`` to
    ``builtins.eval``. Analysing the renamed form closes that bypass.
    """
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


@dataclass(frozen=True)
class GlobalVerdict:
    """How the policy judges one global reference."""

    allowed: bool
    severity: Severity | None
    reason: str


@dataclass(frozen=True)
class GlobalPolicy:
    allowed: frozenset[str]
    denied_modules: frozenset[str]
    denied_globals: frozenset[str]
    denied_components: frozenset[str]
    #: inside a TorchScript archive, ``__torch__.*`` names are classes compiled from the archive's
    #: own code/ by torch's C++ importer, whose unpickler cannot import Python modules
    torchscript_classes: bool = False

    def for_torchscript(self) -> GlobalPolicy:
        return replace(self, torchscript_classes=True)

    @classmethod
    def default(cls, extra_allowed: Iterable[str] = ()) -> GlobalPolicy:
        base = _load_default()
        extra = frozenset(str(g) for g in extra_allowed)
        if not extra:
            return base
        return cls(
            allowed=base.allowed | extra,
            denied_modules=base.denied_modules,
            denied_globals=base.denied_globals,
            denied_components=base.denied_components,
        )

    def is_denied(self, dotted: str) -> str | None:
        """Return why ``dotted`` (``module.name``) is denied, or None."""
        if dotted in self.denied_globals:
            return f"{dotted} is a known-dangerous callable"
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in self.denied_modules:
                return f"{prefix} is a denied module"
        for part in parts:
            if part in self.denied_components:
                return f"'{part}' is a dangerous name"
        return None

    def judge(self, module: str, name: str) -> GlobalVerdict:
        module, name = normalise_global(module, name)
        dotted = f"{module}.{name}"
        if dotted in self.allowed:
            return GlobalVerdict(True, None, "allow-listed")
        if module == "__torch__" or module.startswith("__torch__."):
            # TorchScript classes, resolved by torch's C++ unpickler against the archive's own
            # compiled code (analysed as TorchScript), not Python imports. Outside a TorchScript
            # archive torch.load would hand them to Python's unpickler: unknown.
            if self.torchscript_classes:
                return GlobalVerdict(True, None, "TorchScript class of this archive")
            return GlobalVerdict(False, Severity.SUSPICIOUS, "TorchScript class")
        denied = self.is_denied(dotted)
        if denied is not None:
            return GlobalVerdict(False, Severity.MALICIOUS, denied)
        if module.split(".")[0].startswith("_"):
            # private interpreter modules (_posixsubprocess, _interpreters, _io, ...) are never
            # needed by checkpoints; fickling GHSA-6ggj-6f2q-f7mx blocks them the same way
            return GlobalVerdict(False, Severity.MALICIOUS, "private interpreter module")
        if not _is_identifier_path(module) or not _is_identifier_path(name):
            return GlobalVerdict(
                False, Severity.MALICIOUS, "global name is not a Python identifier"
            )
        return GlobalVerdict(False, Severity.SUSPICIOUS, "not on the allow-list")


def _is_identifier_path(text: str) -> bool:
    return bool(text) and all(p.isidentifier() for p in text.split("."))


def _as_str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("allow-list data must be lists of strings")
    return [str(v) for v in value]


@lru_cache(maxsize=1)
def _load_default() -> GlobalPolicy:
    raw = resources.files(__package__).joinpath("data/pickle_allowlist.json").read_text("utf-8")
    data = json.loads(raw)
    allowed: set[str] = set()
    for group in dict(data["allowed_globals"]).values():
        allowed.update(_as_str_list(group))
    allowed.update(reviewed_globals())
    return GlobalPolicy(
        allowed=frozenset(allowed),
        denied_modules=frozenset(_as_str_list(data["denied_modules"])),
        denied_globals=frozenset(_as_str_list(data["denied_globals"])),
        denied_components=frozenset(_as_str_list(data["denied_name_components"]))
        | {m for e in reviewed_entries() for m in e.deny_members},
    )


@dataclass(frozen=True)
class ReviewedEntry:
    """Globals allowed together, with the argument why and where ordinary files contain them."""

    globals: tuple[str, ...]
    why: str
    seen_in: str
    deny_members: tuple[str, ...] = ()  # I/O methods of these classes: denied name components


@lru_cache(maxsize=1)
def reviewed_entries() -> tuple[ReviewedEntry, ...]:
    raw = resources.files(__package__).joinpath("data/pickle_allowlist_reviewed.json")
    data = json.loads(raw.read_text("utf-8"))
    out = []
    for item in data["entries"]:
        entry = ReviewedEntry(
            tuple(_as_str_list(item["globals"])),
            str(item["why"]),
            str(item["seen_in"]),
            tuple(_as_str_list(item.get("deny_members", []))),
        )
        if not entry.globals or len(entry.why) < 40 or not entry.seen_in:
            raise ValueError(f"allow-list entry without a reviewed argument: {entry.globals}")
        bad = [g for g in entry.globals if not _is_identifier_path(g) or "." not in g]
        if bad:
            raise ValueError(f"allow-list names must be module.name: {bad}")
        out.append(entry)
    return tuple(out)


def reviewed_globals() -> set[str]:
    return {g for e in reviewed_entries() for g in e.globals}
