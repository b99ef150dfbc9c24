"""Python source in a repository: custom modelling code that ``trust_remote_code`` would run.

Any Python file is a ``python-code`` finding (suspicious: a human must review it); imports of
process/network/filesystem modules and dynamic-execution calls are listed as evidence. The source
is parsed with :func:`ast.parse` (parsing never executes code).
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator
from typing import Any

from .context import Location, ScanContext
from .models import Severity
from .stream import Window

MAX_SOURCE = 1 << 20
"""ast.parse costs ~50x the source in RSS; modelling files are a few hundred KiB."""
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


def _evidence(src: bytes) -> Iterator[tuple[str, str, int]]:
    """(kind, name, byte offset) of imports and calls, from the token stream.

    Tokens, not :func:`ast.parse`: the AST of 1 MB of dense source took 480 MiB and 9 s; the
    tokenizer holds one line at a time. Raises tokenize/syntax errors on source Python rejects.
    """
    line_offsets = [0, 0]  # tokenize rows start at 1
    nl = src.find(b"\n")
    while nl >= 0:
        line_offsets.append(nl + 1)
        nl = src.find(b"\n", nl + 1)
    starts = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    state = ""  # "module" (of a from-import), "names", "alias"
    module = current = ""
    name_offset = 0
    previous: tokenize.TokenInfo | None = None
    for tok in tokenize.tokenize(io.BytesIO(src).readline):
        offset = line_offsets[min(tok.start[0], len(line_offsets) - 1)] + tok.start[1]
        at_start = previous is None or previous.type in starts or previous.string == ";"
        word = tok.string if tok.type == tokenize.NAME else None
        ends = tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or tok.string in (";", ",")
        if at_start and word in ("import", "from"):
            state, module, current = ("names" if word == "import" else "module"), "", ""
        elif state == "module":
            if word == "import":
                state = "names"
            elif word is not None or tok.string == ".":
                module += tok.string
        elif state in ("names", "alias"):
            if ends:
                if current and not module.startswith("."):  # relative: this repo's code
                    yield ("import", f"{module}.{current}" if module else current, name_offset)
                current = ""
                state = "names" if tok.string == "," else ""
            elif word == "as":
                state = "alias"
            elif state == "names" and (word is not None or tok.string == "."):
                name_offset = offset if not current else name_offset
                current += tok.string
        elif tok.string == "(" and previous is not None and previous.string in RISKY_CALLS:
            yield ("call", previous.string, offset)
        previous = tok


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
    evidence: list[str] = []
    try:
        for kind, name, offset in _evidence(win.read_at(0, win.length)):
            if kind == "call":
                evidence.append(f"call {name}()")
                ctx.add(
                    Severity.INFO,
                    "python-risky-call",
                    f"calls {name}()",
                    loc,
                    "python",
                    global_=name,
                    offset=offset,
                )
            elif name.split(".")[0] in RISKY_MODULES:
                evidence.append(f"import {name}")
                ctx.add(
                    Severity.INFO,
                    "python-risky-import",
                    f"imports {name}",
                    loc,
                    "python",
                    global_=name,
                    offset=offset,
                )
    except (tokenize.TokenError, SyntaxError, ValueError):
        ctx.add(
            Severity.SUSPICIOUS,
            "python-code",
            "Python source that does not tokenize (would still be executed by "
            "trust_remote_code if importable)",
            loc,
            "python",
        )
        return "python"
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
