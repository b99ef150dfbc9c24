"""Licences as SPDX 2.3 expressions: read from Hub model cards and Python core metadata, and
evaluated against a policy's allow and deny lists.

Expressions are validated and canonicalised by ``packaging.licenses`` (the PEP 639 validator pip
and the build backends use) and evaluated as a tree by ``license-expression``:

- ``A AND B``: every licence applies, so each must pass; one denied licence denies the whole.
- ``A OR B``: a choice, so one approved alternative approves the whole.
- ``A WITH E``: the key ``A WITH E`` is looked up first (an operator may approve or deny the
  combination itself); otherwise it is judged as its base licence ``A`` (an SPDX exception only
  grants additional permissions, so it never makes an approved licence unacceptable).
- ids compare case-insensitively, deprecated SPDX ids are read as their successors
  (``GPL-2.0`` is ``GPL-2.0-only``), ``LicenseRef-*`` are kept as given.

A licence text that is not a valid expression is *unreadable* (``LicenseInfo.error``): policies
treat it like a missing licence (fail closed), never as a pass.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import Any, Literal

from boolean.boolean import AND, OR, Expression
from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)
from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

MAX_EXPRESSION_CHARS = 1000
"""A longer licence expression is unreadable (no real licence needs more)."""

_LICENSING = get_spdx_licensing()
"""Knows SPDX ids and their deprecated aliases; used for single ids only."""
_PLAIN = Licensing()
"""Parses the structure of an expression packaging has validated, renaming nothing."""
Leaf = Any  # LicenseSymbol | LicenseWithExceptionSymbol (license-expression is untyped)
_LEAF = (LicenseSymbol, LicenseWithExceptionSymbol)

# Hub licence ids (https://huggingface.co/docs/hub/repositories-licenses) whose SPDX id is
# spelt differently. Hub ids that are SPDX ids in lower case (``apache-2.0``, ``cc-by-nc-4.0``,
# ``gpl-3.0``) need no entry; the rest (``llama3``, ``openrail++``, ``gpl``) have no SPDX id and
# become ``LicenseRef-hf-<id>``.
_HUB_TO_SPDX: dict[str, str] = {
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "c-uda": "C-UDA-1.0",
    "lgpl-lr": "LGPLLR",
}
_HUB_NO_LICENCE = frozenset({"unknown", "none", ""})
"""Hub values that grant nothing: the repo is treated as unlicensed."""
_HUB_ID = re.compile(r"^[a-z0-9][a-z0-9.+_-]{0,63}$")

DEFAULT_ALLOWED = (
    "Apache-2.0",
    "MIT",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "ISC",
    "Unlicense",
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-4.0",
    "MPL-2.0",
    "Zlib",
    "BSL-1.0",
    "PSF-2.0",
    "MIT-0",
    "PDDL-1.0",
    "ODC-By-1.0",
)


class UnreadableLicenseError(ValueError):
    """A licence text that is not a valid SPDX expression (the message says why)."""


def parse_expression(text: str) -> Expression:
    """A canonical SPDX expression tree. Raises UnreadableLicenseError."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise UnreadableLicenseError(f"longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        canonical = canonicalize_license_expression(text)
        tree = _PLAIN.parse(_with_successors(canonical), validate=False, strict=False)
    except (InvalidLicenseExpression, ExpressionError) as exc:
        raise UnreadableLicenseError(
            f"{text[:100]!r} is not a valid SPDX expression ({exc})"
        ) from None
    if tree is None:
        raise UnreadableLicenseError("empty licence expression")
    return tree  # type: ignore[no-any-return]


def _with_successors(canonical: str) -> str:
    """Deprecated SPDX ids replaced by their successors (``GPL-2.0+`` -> ``GPL-2.0-or-later``).
    ``LicenseRef-`` ids are left alone: license-expression would alias some of them to SPDX ids
    (``LicenseRef-Apache-2.0`` -> ``Apache-2.0``), which would let a custom licence pass as one."""
    out: list[str] = []
    after_with = False
    for token in re.split(r"(\s+|[()])", canonical):
        word = token.strip()
        if (
            word
            and word not in ("(", ")", "AND", "OR", "WITH")
            and not after_with
            and not word.lower().startswith(("licenseref-", "documentref-"))
        ):
            token = _successor(word)
        if word:
            after_with = word == "WITH"
        out.append(token)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _successor(spdx_id: str) -> str:
    try:
        return str(_LICENSING.parse(spdx_id, validate=False, strict=True))
    except ExpressionError:
        return spdx_id


@functools.lru_cache(maxsize=4096)
def licence_key(text: str) -> str:
    """The comparison key of one licence id or ``id WITH exception`` (lower case, canonical),
    as named in a policy's lists. Hub ids are accepted (``apache-2.0``, ``llama3``).

    Raises UnreadableLicenseError for anything else (an expression with AND/OR, an unknown id).
    """
    tree = parse_expression(hub_licence_id(text) or text)
    if not isinstance(tree, _LEAF):
        raise UnreadableLicenseError(f"{text[:100]!r} is an expression, not one licence id")
    return _key(tree)


def _key(symbol: Leaf) -> str:
    return str(symbol).lower()


def hub_licence_id(value: str, name: str | None = None) -> str | None:
    """A Hub card's licence id as an SPDX id or ``LicenseRef-hf-…``; ``None`` when ``value`` is
    not a Hub id (it may still be an SPDX expression). ``other`` takes ``license_name``."""
    low = value.strip().lower()
    if low == "other":
        return (
            f"LicenseRef-hf-{_idstring(name)}" if name and name.strip() else "LicenseRef-hf-other"
        )
    if low in _HUB_TO_SPDX:
        return _HUB_TO_SPDX[low]
    if not _HUB_ID.match(low):
        return None
    try:
        return str(parse_expression(low))  # an SPDX id in lower case
    except UnreadableLicenseError:
        return f"LicenseRef-hf-{_idstring(low)}"


def _idstring(text: str) -> str:
    """SPDX idstring characters only ("openrail++" -> "openrail-plus-plus")."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", text.strip()[:64].replace("+", "-plus"))
    return cleaned.strip("-") or "unnamed"


Status = Literal["approved", "denied", "not-approved"]


@dataclass(frozen=True)
class Evaluation:
    status: Status
    denied: tuple[str, ...] = ()
    """Licences in the expression that the deny list names."""
    not_approved: tuple[str, ...] = ()
    """Licences in the expression that the allow list does not name."""


@dataclass(frozen=True)
class LicenseInfo:
    """A declared licence. ``expression`` is ``None`` when nothing was declared (unlicensed) or
    when the declaration is unreadable (``error`` says why)."""

    expression: Expression | None = None
    name: str | None = None
    link: str | None = None
    error: str | None = None
    source: str = field(default="", compare=False)
    """Where it was read (``License-Expression``, a classifier…), for messages."""

    @property
    def unlicensed(self) -> bool:
        return self.expression is None and self.error is None

    def describe(self) -> str:
        if self.expression is None:
            return "no licence" if self.error is None else f"an unreadable licence ({self.error})"
        shown = str(self.expression)
        if self.name and self.name not in shown:
            shown += f" ({self.name})"
        return shown

    def licences(self) -> list[str]:
        """Every licence key the expression names (for evidence and display)."""
        if self.expression is None:
            return []
        return list(dict.fromkeys(str(s) for s in _leaves(self.expression)))

    def evaluate(self, allow: Iterable[str], deny: Iterable[str]) -> Evaluation:
        """Judge the expression against lists of licence keys (see :func:`licence_key`).
        An empty allow list approves whatever is not denied."""
        assert self.expression is not None
        allowed, denied = frozenset(allow), frozenset(deny)
        bad: dict[str, None] = {}
        unapproved: dict[str, None] = {}

        def leaf(symbol: Leaf) -> Status:
            key = _key(symbol)
            if key in denied:
                return "denied"
            if key in allowed:
                return "approved"
            if isinstance(symbol, LicenseWithExceptionSymbol):
                return leaf(symbol.license_symbol)
            return "not-approved" if allowed else "approved"

        def walk(node: Expression) -> Status:
            if isinstance(node, _LEAF):
                status = leaf(node)
                if status == "denied":
                    bad[str(node)] = None
                elif status == "not-approved":
                    unapproved[str(node)] = None
                return status
            results = [walk(arg) for arg in node.args]
            if isinstance(node, AND):
                if "denied" in results:
                    return "denied"
                return "approved" if all(r == "approved" for r in results) else "not-approved"
            if isinstance(node, OR):
                if "approved" in results:
                    return "approved"
                return "not-approved" if "not-approved" in results else "denied"
            raise UnreadableLicenseError(f"unexpected operator in {node}")  # pragma: no cover

        status = walk(self.expression)
        return Evaluation(status, tuple(bad), tuple(unapproved))


def _leaves(node: Expression) -> list[Leaf]:
    if isinstance(node, _LEAF):
        return [node]
    return [leaf for arg in node.args for leaf in _leaves(arg)]


def _info(values: list[str], name: str | None, link: str | None, source: str) -> LicenseInfo:
    """The conjunction of licence texts: every one of them applies."""
    if not values:
        return LicenseInfo(name=name, link=link, source=source)
    try:
        trees = [parse_expression(v) for v in values]
    except UnreadableLicenseError as exc:
        return LicenseInfo(name=name, link=link, error=str(exc), source=source)
    unique = list(dict.fromkeys(trees))
    expression = unique[0] if len(unique) == 1 else _PLAIN.AND(*unique)
    return LicenseInfo(expression, name, link, source=source)


def unreadable(reason: str) -> LicenseInfo:
    return LicenseInfo(error=reason)


def license_of_card(card: dict[str, Any]) -> LicenseInfo:
    """Licence from a model card's ``license`` (a Hub id, an SPDX expression, or a list of them:
    the repo is under all of them), with ``license_name``/``license_link`` for ``other``."""
    raw = card.get("license")
    name = card.get("license_name") if isinstance(card.get("license_name"), str) else None
    link = card.get("license_link") if isinstance(card.get("license_link"), str) else None
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if len(items) > 32 or not all(isinstance(v, str) for v in items):
        return LicenseInfo(name=name, link=link, error="'license' is not a licence id or a list")
    values: list[str] = []
    for value in items:
        if value.strip().lower() in _HUB_NO_LICENCE:
            continue  # "unknown": no licence is granted
        values.append(hub_licence_id(value, name) or value)
    return _info(values, name, link, "model card")


# Trove classifiers (``License :: …``) -> SPDX, for packages without License-Expression.
_CLASSIFIERS: dict[str, str] = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
}
_CLASSIFIER_CATEGORIES = frozenset({"OSI Approved", "DFSG approved"})


def license_of_core_metadata(text: str) -> LicenseInfo:
    """Licence of a Python distribution from its core metadata, in this precedence: PEP 639
    ``License-Expression``; trove ``License ::`` classifiers (all of them apply); a short
    legacy ``License`` field (an SPDX expression, else a ``LicenseRef-`` of its text)."""
    msg = HeaderParser().parsestr(text)
    expression = str(msg.get("License-Expression") or "").strip()
    if expression:
        return _info([expression], None, None, "License-Expression")
    classified: list[str] = []
    for classifier in msg.get_all("Classifier") or []:
        head, _, tail = str(classifier).partition("License :: ")
        if head == "" and tail:
            name = tail.split(" :: ")[-1].strip()
            if name in _CLASSIFIER_CATEGORIES:
                continue  # a category, not a licence ("License :: OSI Approved")
            classified.append(_CLASSIFIERS.get(name) or f"LicenseRef-{_idstring(name)}")
    if classified:
        return _info(list(dict.fromkeys(classified)), None, None, "classifiers")
    free = str(msg.get("License") or "").strip()
    if free and len(free) <= 64 and "\n" not in free and free.upper() != "UNKNOWN":
        try:
            parse_expression(free)
            return _info([free], free, None, "License")
        except UnreadableLicenseError:
            return _info([f"LicenseRef-{_idstring(free)}"], free, None, "License")
    return LicenseInfo(source="core metadata")
