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
import pickletools
from dataclasses import dataclass

from .context import Location, ScanContext
from .detect import HEAD_SIZE, is_utf8_text
from .models import Finding, Severity
from .pickle_state import WalkResult
from .pickle_walk import PickleWalker
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


#: Formats whose first bytes no pickle loader unpickles: pickles are scanned by their own
#: scanner; a zip at offset 0 goes to torch's zip reader or numpy's npz reader, and as a pickle
#: it starts with PERSID, which plain loaders reject.
NOT_UNPICKLED_AT_START = frozenset({"pickle", "torch-legacy", "zip", "empty"})
_OPCODE_BYTES = frozenset(op.code.encode("latin1")[0] for op in pickletools.opcodes)


def check_pickle_at_start(ctx: ScanContext, win: Window, loc: Location, fmt: str) -> str:
    """Walk ``win`` from offset 0 as ``pickle.load`` would, whatever the file was sniffed as.

    ``pickle.load``, ``numpy.load(allow_pickle=True)``, ``joblib.load`` and ``torch.load``'s
    legacy path unpickle from offset 0 without looking at the format (a tar whose first member
    name is a pickle is both). Returns the format to scan as: ``pickle`` when a headerless
    ``pickle-probe`` stream is a complete pickle, otherwise the sniffed format (``text`` or
    ``binary`` for a failed probe). What the unpickler would have executed before a stream
    fails is reported all the same; a walker limit is an error (fail closed).
    """
    head = win.read_at(0, 1)
    if fmt in NOT_UNPICKLED_AT_START or not head or head[0] not in _OPCODE_BYTES:
        return fmt
    win.seek(0)
    # PERSID is walked over (a loader with a persistent_load goes on), not rejected.
    res = PickleWalker(win, ctx.policy, inner_path=loc.inner_path, fmt="pickle").walk()
    win.seek(0)
    if res.complete and fmt == "pickle-probe":
        return "pickle"
    if res.complete:
        ctx.extend(res.findings)
        ctx.add(
            Severity.SUSPICIOUS,
            "polyglot-pickle",
            f"file is both {fmt} and a pickle that pickle.load accepts",
            loc,
            fmt,
            offset=0,
        )
        _fickling_second_opinion(ctx, win, res, loc, "pickle")
    else:
        ctx.extend(_reached(res))
    if fmt == "pickle-probe":
        head = win.read_at(0, HEAD_SIZE)
        return "text" if is_utf8_text(head) else "binary"
    return fmt


def _reached(res: WalkResult) -> list[Finding]:
    """Findings of a stream the unpickler rejects part-way (the walker follows CPython, so it
    fails where CPython fails): what ran before the failure, not the failure itself.

    A walker limit keeps everything (fail closed). Otherwise the parse error is dropped, and so
    are names no import can resolve (text such as ``import torch`` reads as INST). A stream that
    never calls anything only imported: unknown names then stay quiet, denied ones do not.
    """
    if res.limited:
        return res.findings
    out = []
    for f in res.findings:
        if f.rule == "pickle-parse-error":
            continue
        if f.global_ is not None and not _identifier_path(f.global_):
            continue
        if res.calls == 0 and f.severity is not Severity.MALICIOUS:
            continue
        out.append(f)
    return out


def _identifier_path(text: str) -> bool:
    return bool(text) and all(p.isidentifier() for p in text.split("."))
