"""Symbolic values pushed on the stack by the streaming pickle walker.

They describe what the unpickler *would* build without building it: strings and small constants
are kept (module/attribute names may come from them), byte payloads only as (offset, length, head),
containers only up to a cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTAINER_CAP = 256


class Value:
    """Base class of symbolic values."""

    __slots__ = ()


class MarkValue(Value):
    __slots__ = ()


MARK = MarkValue()


@dataclass(slots=True)
class Const(Value):
    """A constant: str, int, float, bool or None (long strings truncated: ``complete`` False)."""

    value: str | int | float | bool | None
    complete: bool = True


@dataclass(slots=True)
class BytesValue(Value):
    """A bytes/bytearray payload living at ``offset`` of the current window."""

    offset: int
    length: int
    head: bytes


@dataclass(slots=True)
class GlobalRef(Value):
    module: str
    name: str
    offset: int

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(slots=True)
class CallResult(Value):
    """Result of calling ``func`` (REDUCE, NEWOBJ, OBJ, INST)."""

    func: Value
    args: Value
    offset: int
    state: Value | None = None


@dataclass(slots=True)
class SeqValue(Value):
    kind: str  # tuple | list | set | frozenset
    items: list[Value] = field(default_factory=list)
    count: int = 0

    def add(self, item: Value) -> None:
        self.count += 1
        if len(self.items) < CONTAINER_CAP:
            self.items.append(item)


@dataclass(slots=True)
class DictValue(Value):
    items: list[tuple[Value, Value]] = field(default_factory=list)
    count: int = 0

    def add(self, key: Value, value: Value) -> None:
        self.count += 1
        if len(self.items) < CONTAINER_CAP:
            self.items.append((key, value))

    @property
    def complete(self) -> bool:
        """All items were kept (none dropped at the cap)."""
        return self.count == len(self.items)

    def get(self, key: str) -> Value | None:
        """The value a Python dict would hold for ``key``: the last one set wins."""
        for k, v in reversed(self.items):
            if isinstance(k, Const) and k.value == key:
                return v
        return None


@dataclass(slots=True)
class Opaque(Value):
    """Something we cannot model: persistent ids, extension codes, out-of-band buffers."""

    what: str


def tuple_items(value: Value | None) -> list[Value] | None:
    if isinstance(value, SeqValue) and value.kind == "tuple":
        return value.items
    return None


def const_str(value: Value | None) -> str | None:
    if isinstance(value, Const) and isinstance(value.value, str) and value.complete:
        return value.value
    return None


def const_int(value: Value | None) -> int | None:
    if (
        isinstance(value, Const)
        and isinstance(value.value, int)
        and not isinstance(value.value, bool)
    ):
        return value.value
    return None


def callee(value: Value | None) -> GlobalRef | None:
    """The global a call result was produced by, if any."""
    if isinstance(value, CallResult) and isinstance(value.func, GlobalRef):
        return value.func
    return None
