"""Opcode handlers of the streaming pickle walker (one closure per opcode byte).

Semantics follow CPython ``Lib/pickle.py`` ``_Unpickler.load_*``; values are symbolic
(:mod:`.pickle_values`) so nothing is constructed or imported.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from .models import Severity
from .pickle_literals import (
    could_be_operand,
    decode_string_line,
    decode_unicode_line,
    parse_float_line,
    parse_int_line,
    parse_long_line,
    parse_memo_key,
)
from .pickle_state import KEEP_STR, PickleLimitError, PickleParseError, WalkerState
from .pickle_values import (
    CallResult,
    Const,
    DictValue,
    Opaque,
    SeqValue,
    Value,
    const_str,
)

LINE_CAP = 1 << 20  # protocol 0 text operands longer than this are an analysis limit (error)
SMALL_LONG = 64  # LONG1/LONG4 payloads up to this many bytes keep their value


def build_dispatch(w: WalkerState) -> dict[int, Callable[[], bool | None]]:
    """Opcode byte → handler. Handlers return True on STOP."""
    win = w.win
    push = w.push
    pop = w.pop

    def proto() -> None:
        v = win.read_byte()
        if v > 5:
            raise PickleParseError(f"unsupported pickle protocol {v}", w._op_offset)
        if w.result.protocol is None:
            w.result.protocol = v

    def frame() -> None:
        # C reads the whole frame up front: a frame longer than the data is an error there.
        size = w._u("<Q", 8)
        if size > win.remaining:
            raise PickleParseError("frame runs past the end of data", w._op_offset)
        end = win.pos + size
        if w.frame_end is not None and end > w.frame_end:
            raise PickleLimitError("frame runs past the end of its enclosing frame", w._op_offset)
        w.frame_end = end if size else w.frame_end

    def stop() -> bool:
        w.result.value = pop()
        return True

    def mark() -> None:
        w.metastack.append(w.stack)
        w.stack = []

    def pop_op() -> None:
        if w.stack:
            w.stack.pop()
        else:
            w.pop_mark()

    def pop_mark() -> None:
        w.pop_mark()

    def dup() -> None:
        push(w.top())

    def const(v: str | int | float | bool | None) -> Callable[[], None]:
        def h() -> None:
            push(Const(v))

        return h

    def text_line(kind: str = "") -> tuple[bytes, bool]:
        """(operand line, whole): a line longer than LINE_CAP that could be valid comes back
        cut (whole False) and the caller accepts it unchecked, so the walker goes on where
        CPython may stop, never the other way round, with a value marked incomplete."""
        raw, n = w._line(LINE_CAP)
        if n > LINE_CAP and not could_be_operand(kind, raw):  # plain text read as INT...
            raise PickleParseError(f"invalid {kind or 'text'} operand", w._op_offset)
        return raw, n <= LINE_CAP

    def number(parse: Callable[[bytes], int | float | None], kind: str) -> Callable[[], None]:
        def h() -> None:
            raw, whole = text_line("number")
            if not whole:
                push(Opaque(f"{kind} literal too long to analyse"))
                return
            value = parse(raw)
            if value is None:
                raise PickleParseError(f"invalid {kind} literal", w._op_offset)
            push(Const(value))

        return h

    def memo_key() -> int:
        raw, whole = text_line("number")
        if not whole:  # a memo key the walker cannot know would make every GET a guess
            raise PickleLimitError("memo key too long to analyse", w._op_offset)
        key = parse_memo_key(raw)
        if key is None:
            raise PickleParseError("invalid memo key", w._op_offset)
        return key

    def fixed_int(fmt: str, n: int) -> Callable[[], None]:
        def h() -> None:
            push(Const(w._u(fmt, n)))

        return h

    def long_n(fmt: str, n: int) -> Callable[[], None]:
        def h() -> None:
            size = w._u(fmt, n)
            if size < 0:
                raise PickleParseError("LONG pickle has negative byte count", w._op_offset)
            if size > win.remaining:
                raise PickleParseError("LONG runs past the end of data", w._op_offset)
            if size <= SMALL_LONG:
                push(Const(int.from_bytes(win.read_exact(size), "little", signed=True)))
            else:  # CPython has no size limit; the value of a huge int does not matter here
                win.skip(size)
                push(Opaque("long integer"))

        return h

    def binfloat() -> None:
        push(Const(float(struct.unpack(">d", win.read_exact(8))[0])))

    def string_nl() -> None:
        raw, whole = text_line("STRING")
        if not whole:  # quoted at both ends; escapes past the cap are not checked
            if win.read_at(win.pos - 2, 1) != raw[:1]:
                raise PickleParseError("the STRING opcode argument must be quoted", w._op_offset)
            push(Const(raw[1:].decode("latin1"), complete=False))
            return
        data = decode_string_line(raw)
        if data is None:
            raise PickleParseError(
                "the STRING opcode argument must be quoted, with valid escapes", w._op_offset
            )
        # Decoded with the loader's encoding (ASCII, or UTF-8 for torch); latin1 never fails,
        # so the walker goes at least as far as any loader.
        push(Const(data.decode("latin1")))

    def unicode_nl() -> None:
        raw, whole = text_line()
        if not whole:  # escapes past the cap are not checked
            push(Const(raw.decode("raw_unicode_escape", "replace"), complete=False))
            return
        text = decode_unicode_line(raw)
        if text is None:
            raise PickleParseError("invalid UNICODE escape", w._op_offset)
        w._maybe_latin1_pickle(text)
        push(Const(text))

    def counted_bytes(fmt: str, n: int, kind: str) -> Callable[[], None]:
        def h() -> None:
            push(w._payload(w._u(fmt, n), kind))

        return h

    def counted_text(fmt: str, n: int, kind: str) -> Callable[[], None]:
        def h() -> None:
            push(w._text(w._u(fmt, n), kind))

        return h

    def counted_str8(fmt: str, n: int, kind: str) -> Callable[[], None]:
        # BINSTRING / SHORT_BINSTRING: Python 2 str; decoded as latin1 here.
        def h() -> None:
            size = w._u(fmt, n)
            val = w._payload(size, kind)
            if size <= KEEP_STR:
                push(Const(win.read_at(val.offset, size).decode("latin1")))
            else:
                push(Const(val.head.decode("latin1"), complete=False))

        return h

    def seq(kind: str, items: list[Value]) -> SeqValue:
        s = SeqValue(kind)
        for it in items:
            s.add(it)
        return s

    def empty(kind: str) -> Callable[[], None]:
        def h() -> None:
            push(DictValue() if kind == "dict" else SeqValue(kind))

        return h

    def tuple_mark() -> None:
        push(seq("tuple", w.pop_mark()))

    def tuple_n(n: int) -> Callable[[], None]:
        def h() -> None:
            items = [pop() for _ in range(n)][::-1]
            push(seq("tuple", items))

        return h

    def list_mark() -> None:
        push(seq("list", w.pop_mark()))

    def frozenset_mark() -> None:
        push(seq("frozenset", w.pop_mark()))

    def dict_mark() -> None:
        items = w.pop_mark()
        if len(items) % 2:
            raise PickleParseError("odd number of items for DICT", w._op_offset)
        d = DictValue()
        for i in range(0, len(items) - 1, 2):
            d.add(items[i], items[i + 1])
        push(d)

    def append() -> None:
        v = pop()
        target = w.top()
        if isinstance(target, SeqValue):
            target.add(v)

    def appends() -> None:
        items = w.pop_mark()
        target = w.top()
        if isinstance(target, SeqValue):
            for it in items:
                target.add(it)

    def setitem() -> None:
        v = pop()
        k = pop()
        target = w.top()
        if isinstance(target, DictValue):
            target.add(k, v)

    def setitems() -> None:
        items = w.pop_mark()
        target = w.top()
        if len(items) % 2:
            raise PickleParseError("odd number of items for SETITEMS", w._op_offset)
        if isinstance(target, DictValue):
            for i in range(0, len(items) - 1, 2):
                target.add(items[i], items[i + 1])

    def put_nl() -> None:
        key = memo_key()
        if key < 0:
            raise PickleParseError("negative PUT argument", w._op_offset)
        w.memo[key] = w.top()

    def put_n(fmt: str, n: int) -> Callable[[], None]:
        def h() -> None:
            w.memo[w._u(fmt, n)] = w.top()

        return h

    def memoize() -> None:
        w.memo[len(w.memo)] = w.top()

    def get(idx: int) -> None:
        if idx not in w.memo:
            raise PickleParseError(f"memo key {idx} not found", w._op_offset)
        push(w.memo[idx])

    def get_nl() -> None:
        get(memo_key())

    def get_n(fmt: str, n: int) -> Callable[[], None]:
        def h() -> None:
            get(w._u(fmt, n))

        return h

    def global_op() -> None:
        module, name = w._global_line("utf-8")
        push(w.resolve_global(module, name, "GLOBAL"))

    def stack_global() -> None:
        name = pop()
        module = pop()
        m, n = const_str(module), const_str(name)
        if any(isinstance(v, Const) and not v.complete for v in (module, name)):
            raise PickleLimitError("STACK_GLOBAL name too long to analyse", w._op_offset)
        if m is None or n is None:
            computed = any(isinstance(v, CallResult | Opaque) for v in (module, name))
            w.add(
                Severity.MALICIOUS if computed else Severity.SUSPICIOUS,
                "pickle-dynamic-global",
                "STACK_GLOBAL operands are not constant strings "
                f"({type(module).__name__}, {type(name).__name__}): the import is computed",
            )
            push(Opaque("dynamic-global"))
            return
        push(w.resolve_global(m, n, "STACK_GLOBAL"))

    def inst() -> None:
        # The C unpickler pops the MARK before importing, the Python one after: import first
        # so every global either of them reaches is reported.
        module, name = w._global_line("ascii")
        ref = w.resolve_global(module, name, "INST")
        args = w.pop_mark()
        push(w.call(ref, seq("tuple", args), "INST"))

    def obj() -> None:
        items = w.pop_mark()
        if not items:
            raise PickleParseError("OBJ without a class", w._op_offset)
        push(w.call(items[0], seq("tuple", items[1:]), "OBJ"))

    def newobj() -> None:
        args = pop()
        cls = pop()
        push(w.call(cls, args, "NEWOBJ"))

    def newobj_ex() -> None:
        pop()  # kwargs
        args = pop()
        cls = pop()
        push(w.call(cls, args, "NEWOBJ_EX"))

    def reduce() -> None:
        args = pop()
        func = pop()
        push(w.call(func, args, "REDUCE"))

    def persid() -> None:
        raw, _ = w._line(KEEP_STR)
        w.persistent(Const(raw.decode("latin1")))

    def binpersid() -> None:
        w.persistent(pop())

    def ext_n(fmt: str, n: int) -> Callable[[], None]:
        def h() -> None:
            w.ext(w._u(fmt, n))

        return h

    def next_buffer() -> None:
        push(Opaque("out-of-band buffer"))

    def readonly_buffer() -> None:
        w.top()

    d: dict[int, Callable[[], bool | None]] = {
        0x80: proto,
        0x95: frame,
        ord("."): stop,
        ord("("): mark,
        ord("0"): pop_op,
        ord("1"): pop_mark,
        ord("2"): dup,
        ord("N"): const(None),
        0x88: const(True),
        0x89: const(False),
        ord("I"): number(parse_int_line, "INT"),
        ord("L"): number(parse_long_line, "LONG"),
        ord("F"): number(parse_float_line, "FLOAT"),
        ord("J"): fixed_int("<i", 4),
        ord("K"): fixed_int("<B", 1),
        ord("M"): fixed_int("<H", 2),
        0x8A: long_n("<B", 1),
        0x8B: long_n("<i", 4),
        ord("G"): binfloat,
        ord("S"): string_nl,
        ord("V"): unicode_nl,
        ord("T"): counted_str8("<i", 4, "BINSTRING"),
        ord("U"): counted_str8("<B", 1, "SHORT_BINSTRING"),
        ord("B"): counted_bytes("<I", 4, "BINBYTES"),
        ord("C"): counted_bytes("<B", 1, "SHORT_BINBYTES"),
        0x8E: counted_bytes("<Q", 8, "BINBYTES8"),
        0x96: counted_bytes("<Q", 8, "BYTEARRAY8"),
        ord("X"): counted_text("<I", 4, "BINUNICODE"),
        0x8C: counted_text("<B", 1, "SHORT_BINUNICODE"),
        0x8D: counted_text("<Q", 8, "BINUNICODE8"),
        ord(")"): empty("tuple"),
        ord("t"): tuple_mark,
        0x85: tuple_n(1),
        0x86: tuple_n(2),
        0x87: tuple_n(3),
        ord("]"): empty("list"),
        ord("l"): list_mark,
        ord("a"): append,
        ord("e"): appends,
        ord("}"): empty("dict"),
        ord("d"): dict_mark,
        ord("s"): setitem,
        ord("u"): setitems,
        0x8F: empty("set"),
        0x90: appends,
        0x91: frozenset_mark,
        ord("p"): put_nl,
        ord("q"): put_n("<B", 1),
        ord("r"): put_n("<I", 4),
        0x94: memoize,
        ord("g"): get_nl,
        ord("h"): get_n("<B", 1),
        ord("j"): get_n("<I", 4),
        ord("c"): global_op,
        0x93: stack_global,
        ord("i"): inst,
        ord("o"): obj,
        0x81: newobj,
        0x92: newobj_ex,
        ord("R"): reduce,
        ord("b"): w.build,
        ord("P"): persid,
        ord("Q"): binpersid,
        0x82: ext_n("<B", 1),
        0x83: ext_n("<H", 2),
        0x84: ext_n("<i", 4),
        0x97: next_buffer,
        0x98: readonly_buffer,
    }
    return d
