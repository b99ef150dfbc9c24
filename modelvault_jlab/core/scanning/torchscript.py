"""TorchScript archives (``torch.jit.save``): what ``torch.jit.load`` really runs.

A zip whose records include ``constants.pkl`` is TorchScript to ``torch.load`` too (it hands it to
``torch.jit.load``, ``torch/serialization.py: _is_torchscript_zip``). Its ``code/**/*.py`` is
TorchScript, compiled by torch's C++ front end: it cannot import Python modules or call Python
functions; it reaches only operators registered with torch. Its pickles (``data.pkl``,
``constants.pkl``) are read by torch's C++ unpickler, which resolves ``__torch__.*`` names to classes
compiled from that code and refuses other imports. So the archive is judged by the operators its
code references (``data/torchscript_ops.json``), parsed with :func:`ast.parse` (never executed).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .context import Location, ScanContext
from .models import Severity
from .stream import Window

MAX_SOURCE = 16 << 20


def is_torchscript(names: list[str], prefix: str) -> bool:
    return f"{prefix}constants.pkl" in names and any(n.startswith(f"{prefix}code/") for n in names)


def is_torchscript_source(name: str, prefix: str) -> bool:
    return name.startswith(f"{prefix}code/") and name.endswith(".py")


@dataclass(frozen=True)
class OpPolicy:
    risky_ops: dict[str, str]
    namespaces: frozenset[str]


@lru_cache(maxsize=1)
def op_policy() -> OpPolicy:
    raw = resources.files(__package__).joinpath("data/torchscript_ops.json").read_text("utf-8")
    data = json.loads(raw)
    return OpPolicy(
        {str(k): str(v) for k, v in dict(data["risky_ops"]).items()},
        frozenset(str(k) for k in dict(data["op_namespaces"])),
    )


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def risky_references(tree: ast.AST, policy: OpPolicy) -> list[tuple[str, str, int]]:
    """(dotted reference, why, line) for every reference to a risky operator or a custom one."""
    out: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        dotted = _dotted(node)
        if dotted is None:
            continue
        parts = dotted.split(".")
        why = policy.risky_ops.get(parts[-1])
        for marker, what in (("ops", "operator"), ("classes", "C++ class")):
            if why is None and marker in parts[:-1]:
                ns_index = parts.index(marker) + 1
                if ns_index < len(parts) - 1 and parts[ns_index] not in policy.namespaces:
                    why = f"{what} of the custom namespace {parts[ns_index]!r} (native code)"
        if why is not None:
            out.append((dotted, why, node.lineno))
    return out


def scan_torchscript_source(ctx: ScanContext, win: Window, loc: Location) -> str:
    fmt = "torchscript"
    if win.length > MAX_SOURCE:
        ctx.add(Severity.ERROR, "torchscript-too-large", "TorchScript source too large", loc, fmt)
        return fmt
    try:
        tree = ast.parse(win.read_at(0, win.length))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        ctx.add(
            Severity.SUSPICIOUS,
            "torchscript-unparsed",
            "TorchScript source that does not parse: cannot tell which operators it runs",
            loc,
            fmt,
        )
        return fmt
    seen: set[str] = set()
    for dotted, why, line in risky_references(tree, op_policy()):
        if dotted in seen:
            continue
        seen.add(dotted)
        ctx.add(
            Severity.SUSPICIOUS,
            "torchscript-risky-op",
            f"TorchScript references {dotted} on line {line}: {why}",
            loc,
            fmt,
            global_=dotted,
        )
    return fmt
