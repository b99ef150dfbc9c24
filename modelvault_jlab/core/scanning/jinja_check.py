"""Static analysis of a Jinja chat template: can it name an attribute the sandbox would refuse?

Loaders render chat templates with Jinja; some did so without the sandbox (llama-cpp-python,
CVE-2024-34359), where reaching ``__class__``/``__globals__`` runs arbitrary code. The template is
parsed (parsing renders nothing) and every place that names an attribute is checked:

* ``x.name`` and ``x['name']``: the name must not be private/dunder nor a known gadget;
* a subscript key or an attribute argument (``|attr``, ``map(attribute=)``, ``selectattr``,
  ``groupby``, ``sort``, ...) built at render time (``'__cla' ~ 'ss__'``, ``'%c'|format(95)``,
  ``(lipsum|string)[13]``, a ``{% set %}`` of such a string) is folded to a constant when it can
  be, and otherwise reported as a dynamic name: only constants and values read from the render
  data (messages, tools, loop counters) may select attributes.

Whatever the template does at render time, it can only reach a dangerous attribute through one of
these places, so the rule covers the class rather than the spellings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .models import Severity

Issue = tuple[Severity, str, str]

#: Names that only matter after a private attribute gave access to internals (a dict key such as
#: ``'system'`` is ordinary data): suspicious as ``.name``, never as a subscript key.
GADGETS = frozenset(
    {
        "mro",
        "subclasses",
        "globals",
        "builtins",
        "func_globals",
        "f_globals",
        "f_back",
        "gi_frame",
        "cr_frame",
        "ag_frame",
        "tb_frame",
        "format_map",
        "popen",
        "getattr",
        "import_module",
        "load_module",
    }
)
_BAD_NAMES = frozenset({"self", "config", "request", "url_for", "get_flashed_messages", "g"})
_BAD_NAMES |= frozenset({"os", "subprocess", "sys", "builtins", "__builtins__", "session"})
_ODD_NAMES = frozenset({"cycler", "joiner", "lipsum"})
#: Objects of the Jinja environment itself: their string forms contain ``_`` characters.
_ENV_OBJECTS = _ODD_NAMES | {"namespace", "range", "dict", "self", "caller", "varargs", "kwargs"}
_LOOP_FIELDS = frozenset({"index", "index0", "revindex", "revindex0", "length", "depth", "depth0"})
_NUMERIC_FILTERS = frozenset({"length", "count", "int", "float", "abs", "round", "wordcount"})
#: Filters that take attribute names: which positional argument (Jinja's signatures) or the
#: ``attribute`` keyword names one. ``map`` names one only as ``map('attr', name)``.
_ATTRIBUTE_ARG = {
    "attr": 0,
    "selectattr": 0,
    "rejectattr": 0,
    "groupby": 0,
    "sum": 0,
    "sort": 2,
    "unique": 1,
    "min": 1,
    "max": 1,
    "map": -1,
}
#: Render variables taken from files of the scanned repository itself (tokenizer config, GGUF
#: vocabulary): the template's author chooses them, so they may not select attributes.
_AUTHOR_DATA = frozenset(
    {
        "bos_token",
        "eos_token",
        "unk_token",
        "pad_token",
        "sep_token",
        "cls_token",
        "mask_token",
        "additional_special_tokens",
    }
)
_TEXT_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "capitalize": str.capitalize,
    "trim": str.strip,
    "string": str,
}
_DUNDER = re.compile(r"__[A-Za-z]\w*__")
_MAX_FOLD = 4096


class GenerationTag(Extension):
    """transformers' ``{% generation %}...{% endgeneration %}`` (marks assistant tokens).

    Parsed like transformers' ``AssistantTracker`` so templates using it are analysed, not
    refused; the body is kept in the tree, so its content is checked like any other."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def parse(text: str) -> nodes.Template:
    """Parse as transformers does (same extensions; raises TemplateSyntaxError)."""
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, "jinja2.ext.loopcontrols"]
    )
    return env.parse(text)


def bad_attribute(name: str, *, gadgets: bool = True) -> str | None:
    """Why an attribute name is dangerous (dotted names are checked part by part)."""
    for part in name.split("."):
        if part.startswith("_"):
            return f"private attribute {part!r}"
        if gadgets and part in GADGETS:
            return f"attribute {part!r}"
    return None


@dataclass(frozen=True)
class _Kind:
    """What a key expression may evaluate to: ``bad`` names a dangerous constant, ``dynamic``
    says it is a string built at render time from something other than the render data."""

    bad: str | None = None
    dynamic: str | None = None

    def worst(self, other: _Kind) -> _Kind:
        if self.bad or (self.dynamic and not other.bad):
            return self
        return other


_SAFE = _Kind()
_NOFOLD = object()


class _Analysis:
    def __init__(self, ast: nodes.Template) -> None:
        self.ast = ast
        self.bindings: dict[str, list[nodes.Node]] = {}
        self._visiting: set[str] = set()
        self._folded: dict[int, Any] = {}
        self._names: dict[str, _Kind] = {}  # memo: chains of {% set %} must not go exponential
        for node in ast.find_all((nodes.Assign, nodes.AssignBlock, nodes.For, nodes.Macro)):
            if isinstance(node, nodes.Assign):
                self._bind(node.target, node.node)
            elif isinstance(node, nodes.AssignBlock):
                self._bind(node.target, nodes.Output(node.body))
            elif isinstance(node, nodes.For):  # a loop variable: any element of the iterable
                self._bind(node.target, node.iter)
            elif isinstance(node, nodes.Macro):
                self.bindings.setdefault(node.name, []).append(nodes.Output(node.body))
                for arg, default in zip(
                    node.args[-len(node.defaults) :], node.defaults, strict=False
                ):
                    self.bindings.setdefault(arg.name, []).append(default)
        for call in ast.find_all(nodes.Call):  # namespace(key=value)
            for kw in call.kwargs:
                self.bindings.setdefault(f".{kw.key}", []).append(kw.value)

    def _bind(self, target: nodes.Node, value: nodes.Node) -> None:
        if isinstance(target, nodes.Name):
            self.bindings.setdefault(target.name, []).append(value)
        elif isinstance(target, nodes.NSRef):
            self.bindings.setdefault(f".{target.attr}", []).append(value)
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self._bind(item, value)

    # -- constant folding (bounded: a fold never builds more than _MAX_FOLD characters) --
    def fold(self, node: nodes.Node) -> Any:
        """The constant value of ``node``, or ``_NOFOLD`` (memoised: kind() asks at every level)."""
        key = id(node)
        if key not in self._folded:
            self._folded[key] = self._fold(node)
        return self._folded[key]

    def _fold(self, node: nodes.Node) -> Any:
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.TemplateData):
            return node.data
        if isinstance(node, nodes.Output):
            parts = [self.fold(n) for n in node.nodes]
            if any(p is _NOFOLD for p in parts):
                return _NOFOLD
            return _bounded("".join(str(p) for p in parts))
        if isinstance(node, nodes.List | nodes.Tuple):
            items = [self.fold(n) for n in node.items]
            return _NOFOLD if any(i is _NOFOLD for i in items) else items
        if isinstance(node, nodes.Concat):
            parts = [self.fold(n) for n in node.nodes]
            if any(p is _NOFOLD for p in parts):
                return _NOFOLD
            return _bounded("".join(str(p) for p in parts))
        if isinstance(node, nodes.Add | nodes.Mul | nodes.Mod):
            return self._fold_binop(node)
        if isinstance(node, nodes.Getitem):
            return self._fold_getitem(node)
        if isinstance(node, nodes.Filter) and node.node is not None:
            return self._fold_filter(node)
        return _NOFOLD

    def _fold_binop(self, node: nodes.BinExpr) -> Any:
        left, right = self.fold(node.left), self.fold(node.right)
        if left is _NOFOLD or right is _NOFOLD:
            return _NOFOLD
        try:
            if isinstance(node, nodes.Mul):
                count = right if isinstance(left, str) else left
                if not isinstance(count, int) or count * len(str(left or right)) > _MAX_FOLD:
                    return _NOFOLD
                return left * right
            if isinstance(node, nodes.Mod):
                return _bounded(str(left) % (tuple(right) if isinstance(right, list) else right))
            return _bounded(left + right)
        except (TypeError, ValueError, OverflowError):
            return _NOFOLD

    def _fold_getitem(self, node: nodes.Getitem) -> Any:
        base = self.fold(node.node)
        if not isinstance(base, str | list):
            return _NOFOLD
        if isinstance(node.arg, nodes.Slice):
            bounds = [
                self.fold(n) if n is not None else None
                for n in (node.arg.start, node.arg.stop, node.arg.step)
            ]
            if any(b is _NOFOLD or (b is not None and not isinstance(b, int)) for b in bounds):
                return _NOFOLD
            try:
                return base[slice(*bounds)]
            except ValueError:
                return _NOFOLD
        key = self.fold(node.arg)
        if not isinstance(key, int):
            return _NOFOLD
        try:
            return base[key]
        except IndexError:
            return _NOFOLD

    def _fold_filter(self, node: nodes.Filter) -> Any:
        value = self.fold(node.node) if node.node is not None else _NOFOLD
        args = [self.fold(a) for a in node.args]
        if value is _NOFOLD or any(a is _NOFOLD for a in args) or node.kwargs:
            return _NOFOLD
        try:
            if node.name in _TEXT_FILTERS:
                return _TEXT_FILTERS[node.name](str(value))
            if node.name == "reverse":
                return value[::-1] if isinstance(value, str | list) else _NOFOLD
            if node.name == "join" and isinstance(value, list | str):
                sep = str(args[0]) if args else ""
                return _bounded(sep.join(str(v) for v in value))
            if node.name == "replace" and len(args) >= 2:
                return _bounded(str(value).replace(str(args[0]), str(args[1])))
            if node.name == "format":
                return _bounded(str(value) % tuple(args))
            if node.name in ("first", "last") and isinstance(value, list | str) and value:
                return value[0] if node.name == "first" else value[-1]
            if node.name == "list" and isinstance(value, list | str):
                return list(value)
        except (TypeError, ValueError, OverflowError):
            return _NOFOLD
        return _NOFOLD

    # -- what a key expression can be --
    def kind(self, node: nodes.Node) -> _Kind:
        folded = self.fold(node)
        if folded is not _NOFOLD:
            return _const_kind(folded)
        if isinstance(node, nodes.Name):
            kind: _Kind = self._name_kind(node.name)
            return kind
        if isinstance(node, nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name == "loop":
                return _SAFE if node.attr in _LOOP_FIELDS else _Kind(dynamic="loop attribute")
            assigned = self._name_kind(f".{node.attr}", missing=None)  # a namespace field
            return assigned if assigned is not None else self.kind(node.node)
        if isinstance(node, nodes.Getitem):
            return self.kind(node.node)
        if isinstance(node, nodes.Slice | nodes.Compare | nodes.Test | nodes.Not):
            return _SAFE
        if isinstance(node, nodes.Filter) and node.name in _NUMERIC_FILTERS:
            return _SAFE
        if isinstance(node, nodes.Call):
            if isinstance(node.node, nodes.Name) and node.node.name == "range":
                return _SAFE  # integers
            return _Kind(dynamic="a call's result")
        if isinstance(node, nodes.Const | nodes.TemplateData):
            return _SAFE  # unfoldable constant (cannot happen) - defensive
        children = list(node.iter_child_nodes())
        if isinstance(node, nodes.Filter | nodes.Concat | nodes.BinExpr | nodes.Output):
            # Built at render time: any piece that could contribute a '_' makes it dynamic.
            result = _SAFE
            for child in children:
                result = result.worst(self._piece_kind(child))
            return result
        result = _SAFE  # containers, conditionals, and/or: any of their values
        for child in children:
            result = result.worst(self.kind(child))
        return result

    def _piece_kind(self, node: nodes.Node) -> _Kind:
        folded = self.fold(node)
        if isinstance(folded, str | list) and "_" in str(folded):
            return _Kind(dynamic=f"a string built from {str(folded)[:40]!r}")
        if isinstance(node, nodes.Name) and node.name in _ENV_OBJECTS:
            return _Kind(dynamic=f"a string built from {node.name!r}")
        return self.kind(node)

    def _name_kind(self, name: str, missing: _Kind | None = _SAFE) -> Any:
        values = self.bindings.get(name)
        if values is None:
            if name in _ENV_OBJECTS:
                return _Kind(dynamic=f"{name!r}")
            if name in _AUTHOR_DATA:
                return _Kind(dynamic=f"{name!r}, set by the repository's own files")
            return missing  # render data (messages, tools, special tokens)
        if name in self._names:
            return self._names[name]
        if name in self._visiting:
            return _SAFE  # a cycle: the other bindings of the name decide
        self._visiting.add(name)
        try:
            result = _SAFE
            for value in values:
                result = result.worst(self.kind(value))
        finally:
            self._visiting.discard(name)
        self._names[name] = result
        return result


def _bounded(value: str) -> Any:
    return value if len(value) <= _MAX_FOLD else _NOFOLD


def _const_kind(value: Any) -> _Kind:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, str) and bad_attribute(v, gadgets=False):
            return _Kind(bad=v)
    return _SAFE


def check_template(text: str) -> Iterator[Issue]:
    """Yield (severity, rule, message) for a chat template."""
    from jinja2.exceptions import TemplateSyntaxError

    try:
        ast = parse(text)
    except (TemplateSyntaxError, RecursionError, ValueError) as exc:
        yield (Severity.SUSPICIOUS, "chat-template-invalid", f"not valid Jinja: {exc}")
        return
    try:
        analysis = _Analysis(ast)
        issues = [
            issue for node in ast.find_all(nodes.Node) for issue in _check_node(analysis, node)
        ]
    except RecursionError:
        yield (
            Severity.ERROR,
            "chat-template-unanalysable",
            "template expressions nest too deeply to analyse",
        )
        return
    yield from issues


def _check_node(analysis: _Analysis, node: nodes.Node) -> Iterator[Issue]:
    if isinstance(node, nodes.Import | nodes.FromImport | nodes.Include | nodes.Extends):
        yield (Severity.SUSPICIOUS, "chat-template-include", "template loads other templates")
    elif isinstance(node, nodes.Name):
        if node.name in _BAD_NAMES:
            yield (Severity.MALICIOUS, "chat-template-ssti", f"references the gadget {node.name!r}")
        elif node.name in _ODD_NAMES:
            yield (Severity.SUSPICIOUS, "chat-template-suspicious", f"references {node.name!r}")
    elif isinstance(node, nodes.Getattr):
        yield from _name_issue(node.attr, f"accesses .{node.attr}")
    elif isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice):
        yield from _kind_issue(analysis.kind(node.arg), "subscript key")
    elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_ARG:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            yield (
                Severity.SUSPICIOUS,
                "chat-template-dynamic-attribute",
                f"|{node.name} gets its arguments unpacked at render time",
            )
        for arg in _attribute_args(node):
            yield from _attribute_issue(analysis, arg, f"|{node.name} attribute")
        for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
            yield from _kind_issue(analysis.kind(arg), f"|{node.name} argument")
    elif isinstance(node, nodes.Keyword) and node.key.startswith("_"):
        yield from _name_issue(node.key, f"passes keyword {node.key!r}")
    elif (
        isinstance(node, nodes.Const)
        and isinstance(node.value, str)
        and (m := _DUNDER.search(node.value))
    ):
        yield (Severity.MALICIOUS, "chat-template-ssti", f"contains the name {m.group(0)!r}")


def _attribute_args(node: nodes.Filter) -> list[nodes.Expr]:
    """The arguments of an attribute filter that name attributes (not test or filter data)."""
    found = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    position = _ATTRIBUTE_ARG[node.name]
    if position == -1:  # map(filter_name, ...): the filter name, and attr's argument
        found += node.args[:1]
        first = node.args[0] if node.args else None
        if isinstance(first, nodes.Const) and first.value == "attr":
            found += node.args[1:2]
    else:
        found += node.args[position : position + 1]
    return found


def _attribute_issue(analysis: _Analysis, arg: nodes.Expr, where: str) -> Iterator[Issue]:
    """An attribute argument must be a constant (folded) naming a public attribute."""
    value = analysis.fold(arg)
    if value is _NOFOLD or not isinstance(value, str | int):
        yield (
            Severity.SUSPICIOUS,
            "chat-template-dynamic-attribute",
            f"{where} is computed at render time: it could name any attribute",
        )
    elif isinstance(value, str):
        yield from _name_issue(value, f"{where} {value[:80]!r}")


def _name_issue(name: str, what: str) -> Iterator[Issue]:
    """Private names are an attack (the sandbox refuses them); gadget names are suspicious."""
    why = bad_attribute(name)
    if why is None:
        return
    private = why.startswith("private")
    yield (
        Severity.MALICIOUS if private else Severity.SUSPICIOUS,
        "chat-template-ssti" if private else "chat-template-suspicious",
        f"template {what}: {why}",
    )


def _kind_issue(kind: _Kind, where: str) -> Iterator[Issue]:
    if kind.bad:
        yield from _name_issue(kind.bad, f"{where} {kind.bad[:80]!r}")
    elif kind.dynamic:
        yield (
            Severity.SUSPICIOUS,
            "chat-template-dynamic-attribute",
            f"{where} is built at render time ({kind.dynamic}): it could name any attribute",
        )
