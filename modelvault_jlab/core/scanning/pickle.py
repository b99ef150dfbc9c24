"""Pickle analysis: the streaming walker for every pickle, fickling as a second analyser.

This is the only module that imports ``fickling``. The allow-list decides (see
:mod:`.allowlist`); fickling's static analysis (``Pickled`` + ``check_safety``) runs on pickles
small enough to hold in memory and contributes (a) every import its interpreter resolves, graded
by our policy, and (b) its own overtly-malicious verdicts. Huge pickles (arrays inlined as bytes)
are covered by :class:`~.pickle_walk.PickleWalker` alone, which never holds payloads in memory.
Nothing here unpickles anything.
"""

from __future__ import annotations

import ast
import contextlib
import io
from dataclasses import dataclass

from .context import Location, ScanContext
from .models import Finding, Severity
from .pickle_walk import PickleWalker, WalkResult
from .stream import Window

FICKLING_MAX_BYTES = 8 << 20
# fickling's interpreter is superlinear on long opcode streams (a state dict with thousands of
# tensors takes seconds), so it runs on small pickles and on anything the walker flagged; the
# streaming walker alone covers large clean checkpoints.
FICKLING_MAX_OPCODES = 400
FICKLING_MAX_OPCODES_FLAGGED = 50_000
MAX_PICKLES_PER_STREAM = 64


@dataclass
class StreamOutcome:
    pickles: list[WalkResult]
    complete: bool


def scan_pickle_stream(
    ctx: ScanContext,
    win: Window,
    loc: Location,
    *,
    fmt: str = "pickle",
    persistent_ok: bool = False,
    max_pickles: int = MAX_PICKLES_PER_STREAM,
    trailing_is_data: bool = False,
) -> StreamOutcome:
    """Walk every pickle concatenated in ``win`` from its current position.

    Pickles after the first STOP are scanned too (joblib, legacy torch and hand-made payloads load
    several). Trailing bytes that are not a pickle are a suspicious finding unless
    ``trailing_is_data`` (the caller knows raw data follows, e.g. legacy torch storages).
    """
    results: list[WalkResult] = []
    while win.remaining > 0 and len(results) < max_pickles:
        first = not results
        start = win.pos
        walker = PickleWalker(
            win, ctx.policy, inner_path=loc.inner_path, fmt=fmt, persistent_ok=persistent_ok
        )
        res = walker.walk()
        results.append(res)
        if first or res.complete or res.globals:
            ctx.extend(res.findings)
            if res.complete:
                _fickling_second_opinion(ctx, win, res, loc, fmt)
        elif not trailing_is_data:
            ctx.add(
                Severity.SUSPICIOUS,
                "pickle-trailing-data",
                f"{win.length - start} bytes of non-pickle data follow the pickle",
                loc,
                fmt,
                offset=start,
            )
        if not res.complete:
            return StreamOutcome(results, complete=False)
    if win.remaining > 0 and len(results) >= max_pickles and not trailing_is_data:
        ctx.add(
            Severity.ERROR,
            "pickle-too-many",
            "too many concatenated pickles to analyse",
            loc,
            fmt,
            offset=win.pos,
        )
    return StreamOutcome(results, complete=all(r.complete for r in results))


def _fickling_second_opinion(
    ctx: ScanContext, win: Window, res: WalkResult, loc: Location, fmt: str
) -> None:
    size = res.end - res.start
    if size > FICKLING_MAX_BYTES or size <= 0 or res.inline_raw_data:
        return
    flagged = bool(res.findings)
    if res.opcodes > FICKLING_MAX_OPCODES_FLAGGED or (
        not flagged and res.opcodes > FICKLING_MAX_OPCODES
    ):
        return
    data = win.read_at(res.start, size)
    known = {g.dotted for g in res.globals}
    findings = fickling_findings(data, ctx, loc, fmt, known)
    if not flagged:  # fickling's own (INFO) opinions are kept as evidence on flagged pickles only
        findings = [f for f in findings if f.severity is not Severity.INFO]
    ctx.extend(findings)


def fickling_findings(
    data: bytes,
    ctx: ScanContext,
    loc: Location,
    fmt: str,
    known: set[str],
) -> list[Finding]:
    """Findings from fickling's static analysis of one in-memory pickle."""
    from fickling.analysis import Severity as FSeverity
    from fickling.analysis import check_safety
    from fickling.fickle import Pickled

    out: list[Finding] = []
    sink = io.StringIO()
    try:
        # fickling prints warnings on stdout/stderr; keep CLI JSON output clean.
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            pickled = Pickled.load(data, fail_on_decode_error=False)
            results = check_safety(pickled)
            imports = list(pickled.properties.imports)
    except Exception as exc:  # fickling is a second opinion: its failure is evidence, not fatal
        out.append(
            _finding(
                Severity.INFO,
                "fickling-failed",
                f"fickling could not analyse this pickle: {type(exc).__name__}",
                loc,
                fmt,
            )
        )
        return out
    for node in imports:
        for module, name in _import_names(node):
            dotted = f"{module}.{name}"
            if dotted in known:
                continue
            verdict = ctx.policy.judge(module, name)
            if not verdict.allowed and verdict.severity is not None:
                out.append(
                    _finding(
                        verdict.severity,
                        "fickling-unknown-import",
                        f"fickling resolved an import of {dotted}: {verdict.reason}",
                        loc,
                        fmt,
                        dotted,
                    )
                )
    for r in results.results:
        # fickling's own verdicts are evidence; the allow-list (walker + import cross-check
        # above) decides, so fickling heuristics cannot turn a benign checkpoint into a block.
        if r.severity >= FSeverity.LIKELY_UNSAFE:
            name = r.analysis_name or "analysis"
            out.append(
                _finding(
                    Severity.INFO,
                    f"fickling-{name}",
                    f"fickling: {r.message or r.severity.name}",
                    loc,
                    fmt,
                    None,
                )
            )
    return out


def _import_names(node: ast.AST) -> list[tuple[str, str]]:
    if isinstance(node, ast.ImportFrom) and node.module:
        return [(node.module, a.name) for a in node.names]
    if isinstance(node, ast.Import):
        return [(a.name, "*") for a in node.names if a.name not in ("copyreg", "sys")]
    return []


def _finding(
    severity: Severity, rule: str, message: str, loc: Location, fmt: str, global_: str | None = None
) -> Finding:
    return Finding(
        severity=severity,
        rule=rule,
        message=message,
        global_=global_,
        inner_path=loc.inner_path,
        format=fmt,
    )


def probe_pickle(win: Window, ctx: ScanContext, loc: Location) -> bool:
    """Decide whether a file without a PROTO header is a protocol 0/1 pickle."""
    sub = win.sub(0, min(win.length, 1 << 20))
    walker = PickleWalker(sub, ctx.policy, inner_path=loc.inner_path)
    res = walker.walk()
    if res.complete:
        return True
    truncated_by_probe = sub.length < win.length and res.end >= sub.length - 1024
    if not truncated_by_probe and _fails_before_any_effect(res):
        # A text file ("cat\ndog\n": 'c' is GLOBAL) that the unpickler rejects before calling
        # anything: loading it raises after, at most, an import of a non-denied name. Kept as
        # evidence, not as a pickle.
        names = ", ".join(sorted({g.dotted for g in res.globals}))
        ctx.add(
            Severity.INFO,
            "text-pickle-prefix",
            f"also reads as the start of a pickle that fails before any call ({res.error}); "
            f"it would import {names}",
            loc,
            "text",
        )
        return False
    if any(_identifier_path(g.module) and _identifier_path(g.name) for g in res.globals):
        return True
    return truncated_by_probe and res.opcodes >= 8


_HARMLESS_PROBE_RULES = frozenset({"pickle-parse-error", "pickle-unknown-global"})
# Errors of the stack machine itself, which CPython's unpickler raises at the same opcode. Errors
# from operand parsing (integer literals, quoting, length caps) are left out: there the walker may
# stop where CPython goes on, so they never turn a would-be pickle into text.
_CPYTHON_REJECTS = (
    "unpickling stack underflow",
    "MARK not found",
    "invalid pickle opcode",
    "pickle truncated",
)


def _fails_before_any_effect(res: WalkResult) -> bool:
    """The unpickler raises on this stream before any call, persistent id or denied import."""
    return (
        res.calls == 0
        and res.error is not None
        and res.error.startswith(_CPYTHON_REJECTS)
        and all(f.rule in _HARMLESS_PROBE_RULES for f in res.findings)
    )


def _identifier_path(text: str) -> bool:
    return bool(text) and all(p.isidentifier() for p in text.split("."))
