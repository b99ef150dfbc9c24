"""What the opcode handlers (:mod:`.pickle_ops`) see of a pickle walker.

:class:`WalkerState` is the walker's stack, memo and operand readers plus the hooks where
policy applies (globals, calls, BUILD, persistent ids, EXT); :mod:`.pickle_walk` implements it.
Keeping it here lets the walker import its dispatch table without the table importing the walker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .models import Finding, Severity
from .pickle_values import BytesValue, CallResult, Const, GlobalRef, Value
from .stream import Window

KEEP_STR = 4096  # characters of a string operand we keep (module/attribute names are short)


class PickleParseError(Exception):
    """CPython's unpickler rejects the stream here too (the walker follows its semantics)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class PickleLimitError(PickleParseError):
    """The walker stops at one of its own limits where CPython would go on: fail closed."""


@dataclass
class WalkResult:
    """Outcome of walking one pickle."""

    start: int
    end: int  # offset just after STOP, or where parsing failed
    complete: bool  # reached STOP without a parse error
    opcodes: int = 0
    protocol: int | None = None
    globals: list[GlobalRef] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    value: Value | None = None  # the object STOP would return
    inline_raw_data: bool = False  # joblib arrays: non-opcode bytes inside the pickle span
    limited: bool = False  # stopped at a walker limit (not a CPython error): analysis incomplete
    calls: int = 0  # REDUCE/NEWOBJ/OBJ/INST/BUILD opcodes reached


class WalkerState(Protocol):
    """The walker as its opcode handlers use it."""

    win: Window
    stack: list[Value]
    metastack: list[list[Value]]
    memo: dict[int, Value]
    result: WalkResult
    frame_end: int | None
    _op_offset: int

    def add(
        self,
        severity: Severity,
        rule: str,
        message: str,
        global_: str | None = None,
        offset: int | None = None,
    ) -> None: ...
    def push(self, v: Value) -> None: ...
    def pop(self) -> Value: ...
    def top(self) -> Value: ...
    def pop_mark(self) -> list[Value]: ...
    def _u(self, fmt: str, n: int) -> int: ...
    def _line(self, keep: int = ...) -> tuple[bytes, int]: ...
    def _payload(self, n: int, kind: str) -> BytesValue: ...
    def _text(self, n: int, kind: str) -> Const: ...
    def _maybe_latin1_pickle(self, text: str) -> None: ...
    def _global_line(self, encoding: str) -> tuple[str, str]: ...
    def resolve_global(self, module: str, name: str, how: str) -> GlobalRef: ...
    def call(self, func: Value, args: Value, how: str) -> CallResult: ...
    def build(self) -> None: ...
    def persistent(self, pid: Value) -> None: ...
    def ext(self, code: int) -> None: ...
