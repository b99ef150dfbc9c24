"""Text files that a loader interprets: chat templates and transformers/Keras JSON configs.

* Chat templates live in GGUF metadata (see :mod:`.formats_misc`), in ``tokenizer_config.json``
  / ``chat_template.json`` (``chat_template``: a string, or a list of ``{name, template}``) and
  in standalone ``*.jinja`` files (transformers reads ``chat_template.jinja`` and
  ``additional_chat_templates/*.jinja``). Each is analysed by :mod:`.jinja_check`.
* ``auto_map`` in a config can point ``trust_remote_code`` at another repository's code
  (:func:`.python_src.check_auto_map`).
* A Keras ``config.json`` next to ``model.weights.h5`` is what ``load_model("hf://...")`` and
  Keras model folders read (:func:`.keras_config.check_keras_config`).

A template or config above its size cap is an ``error`` (not analysed), never ``clean``.
"""

from __future__ import annotations

import json
from typing import Any

from .context import Location, ScanContext, json_cost
from .jinja_check import check_template
from .keras_config import check_keras_config
from .models import Severity
from .python_src import check_auto_map
from .stream import Window

_JSON_WS = b" \t\r\n"
_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")


def _read_as_config(name: str) -> bool:
    """Files transformers and Keras read configs, chat templates and ``auto_map`` from (by name:
    ``config.json``, ``tokenizer_config.json``, ``preprocessor_config.json``, ...)."""
    return name.endswith("config.json") or name == "chat_template.json"


def check_template_text(ctx: ScanContext, text: str, loc: Location, fmt: str, where: str) -> None:
    """Analyse one chat template found at ``where`` (a JSON key, a GGUF key, a file)."""
    if len(text.encode("utf-8", "surrogatepass")) > ctx.limits.max_template_bytes:
        template_too_large(ctx, loc, fmt, where)
        return
    for sev, rule, msg in check_template(text):
        ctx.add(sev, rule, f"{where}: {msg}", loc, fmt, global_=where)


def template_too_large(ctx: ScanContext, loc: Location, fmt: str, where: str) -> None:
    ctx.add(
        Severity.ERROR,
        "chat-template-too-large",
        f"{where}: chat template larger than {ctx.limits.max_template_bytes} bytes "
        "was not analysed",
        loc,
        fmt,
        global_=where,
    )


def _first_non_space(win: Window) -> int:
    """Offset of the first byte that is not JSON whitespace (reading in bounded chunks)."""
    pos = 0
    while pos < win.length:
        chunk = win.read_at(pos, 1 << 16)
        stripped = chunk.lstrip(_JSON_WS)
        if stripped:
            return pos + len(chunk) - len(stripped)
        pos += len(chunk)
    return pos


def scan_text(ctx: ScanContext, win: Window, loc: Location) -> str:
    """Plain text is clean; templates and configs a loader interprets are analysed."""
    name = (loc.name_hint or "").rsplit("/", 1)[-1]
    if name.lower().endswith(_TEMPLATE_SUFFIXES):
        if win.length > ctx.limits.max_template_bytes:
            template_too_large(ctx, loc, "jinja", name)
            return "jinja"
        text = win.read_at(0, win.length).decode("utf-8", "replace")
        check_template_text(ctx, text, loc, "jinja", name)
        return "jinja"
    start = _first_non_space(win)
    if win.read_at(start, 1) != b"{":
        return "text"
    raw = win.read_at(0, win.length) if win.length <= ctx.limits.max_json_bytes else b""
    if not raw or json_cost(raw) > ctx.limits.max_json_cost:
        if _read_as_config(name):  # big vocabularies (tokenizer.json) are no config
            ctx.add(
                Severity.ERROR,
                "config-too-large",
                "JSON config too large to analyse (size or parsed-memory estimate)",
                loc,
                "json",
            )
        return "json"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "text"
    if isinstance(data, dict):
        check_config(ctx, data, loc, "json")
    return "json"


def check_config(ctx: ScanContext, data: dict[str, Any], loc: Location, fmt: str) -> None:
    """Everything a loader would act on in one JSON config."""
    templates = data.get("chat_template")
    if isinstance(templates, dict):  # {name: template}, as some processors save them
        items: list[Any] = [{"name": k, "template": v} for k, v in templates.items()]
    else:
        items = templates if isinstance(templates, list) else [templates]
    for item in items:
        text = item.get("template") if isinstance(item, dict) else item
        if isinstance(text, str):
            where = "chat_template"
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                where = f"chat_template[{item['name'][:80]}]"
            check_template_text(ctx, text, loc, fmt, where)
    check_auto_map(ctx, data, loc, fmt)
    if isinstance(data.get("class_name"), str) and "config" in data:
        check_keras_config(ctx, data, loc, "keras")
