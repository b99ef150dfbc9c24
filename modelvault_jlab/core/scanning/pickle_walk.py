"""A streaming, symbolic pickle opcode walker.

It reads the opcode stream through a :class:`~.stream.Window`, skips large byte payloads with
``seek`` (so a 1 GiB pickle of arrays costs a few KiB of memory), and keeps a symbolic stack and
memo so that every global the unpickler would import is known — including ``STACK_GLOBAL`` whose
operands come from the memo, ``INST``, and globals hidden behind the Python 2 renames. Nothing is
ever unpickled or imported. Findings are graded by :class:`~.allowlist.GlobalPolicy`.

References for the opcode semantics: CPython ``Lib/pickle.py`` (``_Unpickler``) and
``Lib/pickletools.py``.
"""

from __future__ import annotations

import struct

from .allowlist import GlobalPolicy, normalise_global
from .joblib_support import joblib_payload
from .models import Finding, Severity
from .pickle_ops import build_dispatch
from .pickle_state import KEEP_STR, PickleLimitError, PickleParseError, WalkResult
from .pickle_values import (
    MARK,
    BytesValue,
    CallResult,
    Const,
    DictValue,
    GlobalRef,
    MarkValue,
    Opaque,
    Value,
    const_str,
    tuple_items,
)
from .stream import TruncatedError, Window

GLOBAL_CAP = 1 << 16  # CPython has no limit; longer names are an analysis limit (error)
NESTED_MAX = 64 << 20  # byte payloads up to this size are checked for an embedded pickle
MAX_NESTING = 4
MAX_FINDINGS = 200
_DANGEROUS_STATE_KEYS = {
    "__setstate__",
    "__reduce__",
    "__reduce_ex__",
    "__getattr__",
    "__getattribute__",
    "__class__",
    "__dict__",
    "__init__",
    "__new__",
}


def looks_like_pickle_head(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


class PickleWalker:
    """Walk one pickle from the window's current position to its STOP opcode."""

    def __init__(
        self,
        win: Window,
        policy: GlobalPolicy,
        *,
        inner_path: str = "",
        fmt: str = "pickle",
        persistent_ok: bool = False,
        nesting: int = 0,
    ) -> None:
        self.win = win
        self.policy = policy
        self.inner_path = inner_path
        self.fmt = fmt
        self.persistent_ok = persistent_ok
        self.nesting = nesting
        self.stack: list[Value] = []
        self.metastack: list[list[Value]] = []
        self.memo: dict[int, Value] = {}
        self.result = WalkResult(start=win.pos, end=win.pos, complete=False)
        self._seen: set[tuple[str, str | None]] = set()
        self._op_offset = 0
        self.frame_end: int | None = None  # end of the current FRAME (window offset)
        self._dispatch = build_dispatch(self)

    # -- findings ----------------------------------------------------------------------------
    def add(
        self,
        severity: Severity,
        rule: str,
        message: str,
        global_: str | None = None,
        offset: int | None = None,
    ) -> None:
        key = (rule, global_)
        if key in self._seen and rule != "pickle-parse-error":
            return
        self._seen.add(key)
        if len(self.result.findings) >= MAX_FINDINGS:
            return
        self.result.findings.append(
            Finding(
                severity=severity,
                rule=rule,
                message=message,
                global_=global_,
                offset=self._op_offset if offset is None else offset,
                inner_path=self.inner_path,
                format=self.fmt,
            )
        )

    # -- main loop ---------------------------------------------------------------------------
    def walk(self) -> WalkResult:
        win = self.win
        dispatch = self._dispatch
        res = self.result
        try:
            while True:
                self._op_offset = win.pos
                code = win.read_byte()
                handler = dispatch.get(code)
                res.opcodes += 1
                if handler is None:
                    raise PickleParseError(f"invalid pickle opcode 0x{code:02x}", self._op_offset)
                try:
                    stopped = handler() is True
                except (PickleParseError, TruncatedError):
                    self._check_frame()
                    raise
                self._check_frame()
                if stopped:
                    res.complete = True
                    break
        except TruncatedError as exc:
            res.error = f"pickle truncated: {exc}"
            self.add(Severity.ERROR, "pickle-parse-error", res.error, offset=self._op_offset)
        except PickleLimitError as exc:
            res.error = str(exc)
            res.limited = True
            self.add(Severity.ERROR, "pickle-limit", res.error, offset=exc.offset)
        except PickleParseError as exc:
            res.error = str(exc)
            self.add(Severity.ERROR, "pickle-parse-error", res.error, offset=exc.offset)
        except RecursionError:  # pragma: no cover - defensive
            res.error = "pickle nesting too deep"
            res.limited = True
            self.add(Severity.ERROR, "pickle-limit", res.error)
        res.end = win.pos
        return res

    def _check_frame(self) -> None:
        end = self.frame_end
        if end is None or self.win.pos < end:
            return
        if self.win.pos > end and self._op_offset < end:
            # Reading a file, the C unpickler takes an operand that crosses the frame end from
            # after the frame (dropping the rest of it); the Python one refuses it. Picklers
            # never write that, so the opcode is not followed (fail closed).
            raise PickleLimitError("opcode straddles a frame boundary", self._op_offset)
        self.frame_end = None

    # -- stack helpers -----------------------------------------------------------------------
    def push(self, v: Value) -> None:
        self.stack.append(v)

    def pop(self) -> Value:
        if not self.stack:
            raise PickleParseError("unpickling stack underflow", self._op_offset)
        v = self.stack.pop()
        if isinstance(v, MarkValue):
            raise PickleParseError("unexpected MARK on the stack", self._op_offset)
        return v

    def top(self) -> Value:
        if not self.stack or isinstance(self.stack[-1], MarkValue):
            raise PickleParseError("unpickling stack underflow", self._op_offset)
        return self.stack[-1]

    def pop_mark(self) -> list[Value]:
        if not self.metastack:
            raise PickleParseError("MARK not found", self._op_offset)
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    # -- operand readers ---------------------------------------------------------------------
    def _u(self, fmt: str, n: int) -> int:
        return int(struct.unpack(fmt, self.win.read_exact(n))[0])

    def _line(self, keep: int = KEEP_STR) -> tuple[bytes, int]:
        return self.win.readline(keep)

    def _payload(self, n: int, kind: str) -> BytesValue:
        if n < 0:
            raise PickleParseError(f"negative {kind} length", self._op_offset)
        if n > self.win.remaining:
            raise PickleParseError(
                f"{kind} of {n} bytes runs past the end of data", self._op_offset
            )
        off = self.win.pos
        head = self.win.read(min(n, 64))
        if n > len(head):
            self.win.skip(n - len(head))
        val = BytesValue(off, n, head)
        if looks_like_pickle_head(head) and n <= NESTED_MAX:
            self._nested(off, n)
        return val

    def _text(self, n: int, kind: str) -> Const:
        if n < 0 or n > self.win.remaining:
            raise PickleParseError(
                f"{kind} of {n} bytes runs past the end of data", self._op_offset
            )
        if n <= KEEP_STR * 4:
            raw = self.win.read_exact(n)
            try:
                text = raw.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as exc:
                raise PickleParseError(f"{kind} is not valid UTF-8", self._op_offset) from exc
            self._maybe_latin1_pickle(text)
            return Const(text)
        off = self.win.pos
        head = self.win.read(KEEP_STR)
        self.win.skip(n - len(head))
        if head.startswith(b"\xc2\x80"):
            self._maybe_latin1_pickle_at(off, n)
        return Const(head.decode("utf-8", "replace"), complete=False)

    def _maybe_latin1_pickle(self, text: str) -> None:
        # Protocol 2 stores bytes as _codecs.encode(text, "latin1"): a pickle hidden that way.
        if len(text) >= 2 and text[0] == "\x80" and 2 <= ord(text[1]) <= 5:
            try:
                data = text.encode("latin1")
            except UnicodeEncodeError:
                return
            self._nested_bytes(data)

    def _maybe_latin1_pickle_at(self, off: int, n: int) -> None:
        if n <= NESTED_MAX:
            raw = self.win.read_at(off, n)
            self._maybe_latin1_pickle(raw.decode("utf-8", "replace"))

    # -- nested pickles ----------------------------------------------------------------------
    def _nested(self, off: int, n: int) -> None:
        if self.nesting >= MAX_NESTING:
            return
        saved = self.win.pos
        sub = self.win.sub(off, n)
        self._absorb_nested(sub, off)
        self.win.seek(saved)

    def _nested_bytes(self, data: bytes) -> None:
        if self.nesting < MAX_NESTING:
            self._absorb_nested(Window.of_bytes(data), self._op_offset)

    def _absorb_nested(self, sub: Window, base: int) -> None:
        walker = PickleWalker(
            sub,
            self.policy,
            inner_path=self.inner_path,
            fmt=self.fmt,
            persistent_ok=False,
            nesting=self.nesting + 1,
        )
        res = walker.walk()
        # Only a well-formed embedded pickle counts: random tensor bytes can start with 0x80.
        if not res.complete:
            return
        for f in res.findings:
            self.add(
                f.severity, f.rule, f"nested pickle: {f.message}", f.global_, base + (f.offset or 0)
            )
        self.result.globals.extend(res.globals)

    # -- globals -----------------------------------------------------------------------------
    def resolve_global(self, module: str, name: str, how: str) -> GlobalRef:
        module, name = normalise_global(module, name)
        ref = GlobalRef(module, name, self._op_offset)
        self.result.globals.append(ref)
        verdict = self.policy.judge(module, name)
        if not verdict.allowed and verdict.severity is not None:
            rule = (
                "pickle-denied-global"
                if verdict.severity is Severity.MALICIOUS
                else "pickle-unknown-global"
            )
            self.add(
                verdict.severity, rule, f"{how} imports {ref.dotted}: {verdict.reason}", ref.dotted
            )
        return ref

    def _global_line(self, encoding: str) -> tuple[str, str]:
        """GLOBAL (UTF-8) / INST (ASCII) operands: two non-empty lines, strictly decoded."""
        names = []
        for _ in range(2):
            raw, n = self._line(GLOBAL_CAP)
            if n > GLOBAL_CAP:
                raise PickleLimitError("global name too long to analyse", self._op_offset)
            if not raw:  # C: bad_readline; Python: the import of "" fails
                raise PickleParseError("empty global name", self._op_offset)
            try:
                names.append(raw.decode(encoding))
            except UnicodeDecodeError as exc:
                raise PickleParseError(f"global name is not {encoding}", self._op_offset) from exc
        return names[0], names[1]

    # -- calls -------------------------------------------------------------------------------
    def call(self, func: Value, args: Value, how: str) -> CallResult:
        self.result.calls += 1
        if not isinstance(func, GlobalRef):
            self.add(
                Severity.SUSPICIOUS,
                "pickle-indirect-call",
                f"{how} calls a {type(func).__name__} that is not an imported global "
                "(a computed callable)",
            )
        elif func.dotted == "_codecs.encode":
            items = tuple_items(args)
            enc = const_str(items[1]) if items and len(items) == 2 else None
            if not (items and isinstance(items[0], Const) and enc in ("latin1", "latin-1")):
                self.add(
                    Severity.SUSPICIOUS,
                    "pickle-codecs-call",
                    "_codecs.encode called with operands other than (str, 'latin1')",
                    func.dotted,
                )
        return CallResult(func, args, self._op_offset)

    def build(self) -> None:
        state = self.pop()
        target = self.top()
        self.result.calls += 1
        if isinstance(target, GlobalRef):
            self.add(
                Severity.MALICIOUS,
                "pickle-build-on-global",
                f"BUILD sets attributes on the imported object {target.dotted}",
                target.dotted,
            )
        for d in _state_dicts(state):
            for k, _ in d.items:
                key = const_str(k)
                if key is not None and key in _DANGEROUS_STATE_KEYS:
                    self.add(
                        Severity.MALICIOUS,
                        "pickle-build-dunder-state",
                        f"BUILD state sets {key}, which hijacks object behaviour",
                    )
                elif key is not None and key.startswith("__") and key.endswith("__"):
                    self.add(
                        Severity.SUSPICIOUS,
                        "pickle-build-dunder-state",
                        f"BUILD state sets special attribute {key}",
                    )
        if isinstance(target, CallResult):
            target.state = state
            payload = joblib_payload(target)
            if payload is not None:
                self._joblib_array(payload)

    def _joblib_array(self, payload: tuple[str, int, bool]) -> None:
        kind, nbytes, padded = payload
        if kind == "unknown":
            raise PickleParseError("cannot size the joblib array that follows", self.win.pos)
        if self.frame_end is not None:
            # joblib reads the array from the file itself, which a frame has already been read
            # past: only data right at the end of the frame is where the walker looks
            if self.win.pos != self.frame_end:
                raise PickleLimitError("joblib array data inside a pickle frame", self.win.pos)
            self.frame_end = None
        self.stack.pop()
        self.push(Opaque("joblib-array"))
        self.result.inline_raw_data = True
        if kind == "object":
            walker = PickleWalker(
                self.win,
                self.policy,
                inner_path=self.inner_path,
                fmt=self.fmt,
                nesting=self.nesting + 1,
            )
            res = walker.walk()
            self.result.findings.extend(res.findings)
            self.result.globals.extend(res.globals)
            if not res.complete:
                raise PickleParseError("embedded joblib object array is malformed", res.end)
            return
        if padded:
            self.win.skip(self.win.read_byte())
        if nbytes > self.win.remaining:
            raise PickleParseError("joblib array data runs past the end of data", self.win.pos)
        self.win.skip(nbytes)

    def persistent(self, pid: Value) -> None:
        if not self.persistent_ok:
            self.add(
                Severity.SUSPICIOUS,
                "pickle-persistent-id",
                "persistent id outside a PyTorch checkpoint: a custom loader resolves it",
            )
        self.push(Opaque("persistent-id"))

    def ext(self, code: int) -> None:
        self.add(
            Severity.SUSPICIOUS,
            "pickle-ext-opcode",
            f"EXT opcode imports copyreg extension code {code}, whose target is defined at runtime",
        )
        self.push(Opaque("ext"))


def _state_dicts(state: Value) -> list[DictValue]:
    if isinstance(state, DictValue):
        return [state]
    items = tuple_items(state)
    if items and len(items) == 2:
        return [v for v in items if isinstance(v, DictValue)]
    return []


__all__ = [
    "MARK",
    "PickleLimitError",
    "PickleParseError",
    "PickleWalker",
    "WalkResult",
    "looks_like_pickle_head",
]
