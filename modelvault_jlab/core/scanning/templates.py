"""Chat templates (GGUF metadata, tokenizer_config.json): Jinja that must stay plain.

Loaders such as llama-cpp-python rendered GGUF chat templates in an unsandboxed Jinja environment
(CVE-2024-34359, GHSA-56xg-wfcc-g829): a template reaching ``__class__``/``__globals__``/
``__subclasses__`` runs arbitrary code. Templates are parsed with Jinja's parser (parsing renders
nothing) and walked for attribute access to private/dunder names and known SSTI gadgets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .context import Location, ScanContext
from .models import Severity
from .stream import Window

MAX_JSON = 16 << 20

_BAD_NAMES = frozenset(
    {
        "self",
        "config",
        "request",
        "url_for",
        "get_flashed_messages",
        "os",
        "subprocess",
        "sys",
        "builtins",
        "__builtins__",
        "g",
        "session",
    }
)
_ODD_NAMES = frozenset({"cycler", "joiner", "lipsum"})
_GADGETS = frozenset(
    {
        "popen",
        "system",
        "eval",
        "exec",
        "import",
        "globals",
        "builtins",
        "mro",
        "subclasses",
        "getattr",
        "import_module",
        "open",
        "os",
        "subprocess",
        "load_module",
        "modules",
    }
)
_REGEX = re.compile(r"__\w+__|\|\s*attr\s*\(|\bmro\b|subclasses|\bpopen\b|\bos\.|import")


def check_template(text: str) -> Iterator[tuple[Severity, str, str]]:
    """Yield (severity, rule, message) for a chat template."""
    try:
        from jinja2 import Environment, nodes
        from jinja2.exceptions import TemplateSyntaxError
    except ImportError:  # pragma: no cover - jinja2 ships with jupyter_server
        for m in _REGEX.finditer(text):
            yield (Severity.MALICIOUS, "chat-template-ssti", f"template contains {m.group(0)!r}")
        return
    try:
        ast = Environment(autoescape=True, extensions=["jinja2.ext.loopcontrols"]).parse(text)
    except (TemplateSyntaxError, RecursionError, ValueError) as exc:
        yield (
            Severity.SUSPICIOUS,
            "chat-template-invalid",
            f"chat template is not valid Jinja: {exc}",
        )
        return
    for node in ast.find_all(
        (
            nodes.Getattr,
            nodes.Getitem,
            nodes.Name,
            nodes.Filter,
            nodes.Import,
            nodes.FromImport,
            nodes.Include,
            nodes.Extends,
        )
    ):
        if isinstance(node, nodes.Import | nodes.FromImport | nodes.Include | nodes.Extends):
            yield (Severity.SUSPICIOUS, "chat-template-include", "template loads other templates")
            continue
        name: str | None = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = str(node.arg.value)
        elif isinstance(node, nodes.Name):
            name = node.name
            if name in _BAD_NAMES:
                yield (
                    Severity.MALICIOUS,
                    "chat-template-ssti",
                    f"template references the SSTI gadget {name!r}",
                )
            elif name in _ODD_NAMES:
                yield (
                    Severity.SUSPICIOUS,
                    "chat-template-suspicious",
                    f"template references {name!r}",
                )
            continue
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            yield (
                Severity.MALICIOUS,
                "chat-template-ssti",
                "template uses the |attr filter (dynamic attribute access)",
            )
            continue
        if name and name.startswith("_"):
            yield (
                Severity.MALICIOUS,
                "chat-template-ssti",
                f"template accesses private attribute {name!r}",
            )
        elif name in _GADGETS:
            yield (
                Severity.SUSPICIOUS,
                "chat-template-suspicious",
                f"template accesses attribute {name!r}",
            )


def scan_text(ctx: ScanContext, win: Window, loc: Location) -> str:
    """Plain text is clean; JSON configs carrying a ``chat_template`` get it checked."""
    head = win.peek(64).lstrip()
    if not head.startswith(b"{") or win.length > MAX_JSON:
        return "text"
    try:
        data = json.loads(win.read_at(0, win.length))
    except (ValueError, RecursionError):
        return "text"
    if not isinstance(data, dict):
        return "json"
    templates = data.get("chat_template")
    items: list[Any] = templates if isinstance(templates, list) else [templates]
    for item in items:
        text = item.get("template") if isinstance(item, dict) else item
        if isinstance(text, str):
            for sev, rule, msg in check_template(text):
                ctx.add(sev, rule, msg, loc, "json", global_="chat_template")
    return "json"
