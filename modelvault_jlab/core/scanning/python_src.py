"""Python source in a repository: custom modelling code that ``trust_remote_code`` would run.

Any Python file is a ``python-code`` finding (suspicious: a human must review it); imports of
process/network/filesystem modules and dynamic-execution calls are listed as evidence. The source
is parsed with :func:`ast.parse` (parsing never executes code).
"""

from __future__ import annotations

import ast
from typing import Any

from .context import Location, ScanContext
from .models import Severity
from .stream import Window

MAX_SOURCE = 16 << 20
RISKY_MODULES = frozenset(
    {
        "os",
        "subprocess",
        "socket",
        "sys",
        "ctypes",
        "shutil",
        "pty",
        "requests",
        "urllib",
        "urllib3",
        "http",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "telnetlib",
        "paramiko",
        "pickle",
        "dill",
        "cloudpickle",
        "marshal",
        "importlib",
        "runpy",
        "builtins",
        "multiprocessing",
        "webbrowser",
        "base64",
        "codecs",
        "tempfile",
        "asyncio",
        "platform",
        "signal",
        "pathlib",
    }
)
RISKY_CALLS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "system",
        "popen",
        "Popen",
        "check_output",
        "run",
        "call",
        "getattr",
        "loads",
        "urlopen",
    }
)


def is_python(head: bytes, loc: Location) -> bool:
    hint = (loc.name_hint or "").lower()
    if hint.endswith((".py", ".pyw", ".pyi")):
        return True
    first = head.split(b"\n", 1)[0]
    return first.startswith(b"#!") and b"python" in first


def scan_python(ctx: ScanContext, win: Window, loc: Location) -> str:
    if win.length > MAX_SOURCE:
        ctx.add(
            Severity.SUSPICIOUS,
            "python-code",
            "very large Python source file (not parsed)",
            loc,
            "python",
        )
        return "python"
    src = win.read_at(0, win.length)
    line_offsets = [0]
    nl = src.find(b"\n")
    while nl >= 0:
        line_offsets.append(nl + 1)
        nl = src.find(b"\n", nl + 1)
    evidence: list[str] = []
    try:
        tree = ast.parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        ctx.add(
            Severity.SUSPICIOUS,
            "python-code",
            "Python source that does not parse (would still be executed by "
            "trust_remote_code if importable)",
            loc,
            "python",
        )
        return "python"
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call):
            fn = node.func
            called = (
                fn.id
                if isinstance(fn, ast.Name)
                else (fn.attr if isinstance(fn, ast.Attribute) else None)
            )
            if called in RISKY_CALLS:
                evidence.append(f"call {called}() line {node.lineno}")
                ctx.add(
                    Severity.INFO,
                    "python-risky-call",
                    f"calls {called}() on line {node.lineno}",
                    loc,
                    "python",
                    global_=called,
                    offset=line_offsets[node.lineno - 1] + node.col_offset,
                )
            continue
        for name in names:
            if name.split(".")[0] in RISKY_MODULES:
                evidence.append(f"import {name} line {node.lineno}")  # type: ignore[attr-defined]
                ctx.add(
                    Severity.INFO,
                    "python-risky-import",
                    f"imports {name}",
                    loc,
                    "python",
                    global_=name,
                    offset=line_offsets[getattr(node, "lineno", 1) - 1],
                )
    summary = "; ".join(evidence[:20]) if evidence else "no risky imports found"
    ctx.add(
        Severity.SUSPICIOUS,
        "python-code",
        f"Python source code executed by trust_remote_code ({summary})",
        loc,
        "python",
    )
    return "python"


def check_auto_map(ctx: ScanContext, config: dict[str, Any], loc: Location, fmt: str) -> None:
    """``auto_map``/``custom_pipelines`` entries of a transformers config.

    ``"AutoModel": "other/repo--modeling.MyModel"`` makes ``trust_remote_code`` fetch and run
    ``modeling.py`` from *another* repository (``get_class_from_dynamic_module`` splits on
    ``--``): the scanned repository holds no Python at all, so the reference itself is the
    finding. A reference without ``--`` runs this repository's own ``.py`` files (scanned as
    Python on their own), so it is evidence only.
    """
    refs: list[tuple[str, Any]] = []
    auto_map = config.get("auto_map")
    if isinstance(auto_map, list | tuple):  # old tokenizer configs: [slow, fast]
        auto_map = {"AutoTokenizer": auto_map}
    if isinstance(auto_map, dict):
        refs.extend(auto_map.items())
    pipelines = config.get("custom_pipelines")
    if isinstance(pipelines, dict):
        refs.extend(
            (f"pipeline {task}", spec.get("impl"))
            for task, spec in pipelines.items()
            if isinstance(spec, dict)
        )
    for key, value in refs:
        for ref in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(ref, str):
                continue
            if "--" in ref:
                repo = ref.split("--", 1)[0]
                ctx.add(
                    Severity.SUSPICIOUS,
                    "remote-code-reference",
                    f"{key} loads code from the repository {repo[:200]!r} ({ref[:200]!r}) "
                    "when trust_remote_code is set; that code is not part of this repository",
                    loc,
                    fmt,
                    global_=repo[:200],
                )
            else:
                ctx.add(
                    Severity.INFO,
                    "remote-code-local",
                    f"{key} runs this repository's code {ref[:200]!r} with trust_remote_code",
                    loc,
                    fmt,
                    global_=ref[:200],
                )
