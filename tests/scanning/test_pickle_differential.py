"""Differential fuzzing of the pickle walker against CPython's own unpicklers.

Generated opcode streams are loaded by the C unpickler (``pickle.Unpickler``, what
``pickle.load``/``torch.load``/``numpy.load`` use) and the pure-Python one (``pickle._Unpickler``,
what ``joblib.load`` uses), each with a ``find_class`` that records the global and returns an
inert stub class: nothing is imported, and REDUCE/NEWOBJ/BUILD/APPEND/SETITEM on stubs do
nothing. The walker must reach the same globals and accept every stream CPython accepts.
"""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modelvault_jlab.core.scanning.allowlist import GlobalPolicy, normalise_global
from modelvault_jlab.core.scanning.pickle_walk import PickleWalker
from modelvault_jlab.core.scanning.stream import Window


class Stub:
    """Inert stand-in for every global: callable with anything, every attribute a stub."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Stub:
        return Stub()

    def __setstate__(*args: Any) -> None:  # callable on the class and on instances
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Stub:
        return Stub()


def _recording(base: type[Any]) -> type[Any]:
    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, data: bytes) -> None:
            super().__init__(io.BytesIO(data))
            self.reached: list[tuple[str, str]] = []

        def find_class(self, module: str, name: str) -> type[Stub]:
            self.reached.append((module, name))
            return Stub

    return Recording


C_UNPICKLER = _recording(pickle.Unpickler)
PY_UNPICKLER = _recording(pickle._Unpickler)  # type: ignore[attr-defined]


def cpython(unpickler: type[Any], data: bytes) -> tuple[bool, set[str]]:
    u = unpickler(data)
    try:
        u.load()
        ok = True
    except Exception:  # every CPython rejection counts, whatever its type
        ok = False
    return ok, {".".join(normalise_global(m, n)) for m, n in u.reached}


# -- stream generation -----------------------------------------------------------------------------
NAMES = [
    ("os", "system"),
    ("builtins", "eval"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("collections", "OrderedDict"),
    ("a.b", "c.d"),
    ("__builtin__", "getattr"),
]
INT_TEXT = [
    b"12",
    b"0x1f",
    b"017",
    b"08",
    b"1_0",
    b"12\x00junk",
    b" 5",
    b"+1",
    b"01",
    b"00",
    b"-0",
    b"99999999999999999999",
    b"0777777777777777777777777",
    b"0b101",
    b"abc",
    b"",
    b"0x",
    b"1L",
    b"5 ",
    b"0_0",
    b"1__0",
    b"\t-7",
]
FLOAT_TEXT = [
    b"1.5",
    b"1e400",
    b" 1",
    b"1_0",
    b"nan",
    b"-inf",
    b"infinity",
    b"1e",
    b"0x1p3",
    b"1.5\x00z",
    b".5",
    b"5.",
    b"",
    b"1.5 ",
    b"+.5e-3",
    b"infin",
]
KEY_TEXT = [b"0", b"1", b"01", b" 1", b"1\x00x", b"-1", b"1_0", b"x", b"", b"2"]
STRING_TEXT = [
    b"'os'",
    b"'o\\x73'",
    b'"system"',
    b"'bad",
    b"'\\x4'",
    b"'",
    b"''",
    b"'a\\nb'",
    b"'eval'",
]


def _u8(s: bytes) -> bytes:
    return b"\x8c" + bytes([len(s)]) + s


def _ops() -> st.SearchStrategy[bytes]:
    name = st.sampled_from(NAMES)
    word = st.sampled_from([m.encode() for m, _ in NAMES] + [n.encode() for _, n in NAMES])
    small = st.integers(0, 3)
    return st.one_of(
        st.sampled_from(
            [
                b"(",
                b"0",
                b"1",
                b"2",
                b"N",
                b"\x88",
                b"\x89",
                b")",
                b"]",
                b"}",
                b"\x8f",
                b"t",
                b"\x85",
                b"\x86",
                b"\x87",
                b"l",
                b"d",
                b"a",
                b"e",
                b"s",
                b"u",
                b"\x90",
                b"\x91",
                b"R",
                b"b",
                b"\x81",
                b"\x92",
                b"o",
                b"\x93",
                b"\x94",
                b".",
                b"\x82\x01",  # EXT1: no extension registered
                b"Pid\n",  # PERSID / BINPERSID: no persistent_load
                b"Q",
                b"\x97",  # NEXT_BUFFER / READONLY_BUFFER: no buffers
                b"\x98",
            ]
        ),
        name.map(lambda n: b"c" + n[0].encode() + b"\n" + n[1].encode() + b"\n"),
        name.map(lambda n: b"i" + n[0].encode() + b"\n" + n[1].encode() + b"\n"),
        name.map(lambda n: _u8(n[0].encode()) + _u8(n[1].encode()) + b"\x93"),
        word.map(_u8),
        word.map(lambda w: b"X" + struct.pack("<I", len(w)) + w),
        word.map(lambda w: b"V" + w + b"\n"),
        word.map(lambda w: b"U" + bytes([len(w)]) + w),
        st.sampled_from(STRING_TEXT).map(lambda t: b"S" + t + b"\n"),
        st.sampled_from(INT_TEXT).map(lambda t: b"I" + t + b"\n"),
        st.sampled_from(INT_TEXT).map(lambda t: b"L" + t + b"L\n"),
        st.sampled_from(FLOAT_TEXT).map(lambda t: b"F" + t + b"\n"),
        st.sampled_from(KEY_TEXT).map(lambda t: b"p" + t + b"\n"),
        st.sampled_from(KEY_TEXT).map(lambda t: b"g" + t + b"\n"),
        small.map(lambda i: b"q" + bytes([i])),
        small.map(lambda i: b"h" + bytes([i])),
        small.map(lambda i: b"r" + struct.pack("<I", i)),
        small.map(lambda i: b"j" + struct.pack("<I", i)),
        st.integers(0, 255).map(lambda i: b"K" + bytes([i])),
        st.integers(-(2**31), 2**31 - 1).map(lambda i: b"J" + struct.pack("<i", i)),
        st.binary(max_size=9).map(lambda b: b"\x8a" + bytes([len(b)]) + b),
        st.binary(max_size=80).map(lambda b: b"\x8b" + struct.pack("<i", len(b)) + b),
        st.integers(0, 5).map(lambda v: b"\x80" + bytes([v])),
        st.integers(0, 40).map(lambda n: b"\x95" + struct.pack("<Q", n)),
        st.binary(max_size=6).map(lambda b: b"C" + bytes([len(b)]) + b),
    )


def _strings(text: bytes) -> st.SearchStrategy[bytes]:
    """One str value spelled by any of the opcodes that make one."""
    esc = "".join(f"\\x{c:02x}" for c in text).encode()
    return st.sampled_from(
        [
            _u8(text),
            b"X" + struct.pack("<I", len(text)) + text,
            b"V" + text + b"\n",
            b"U" + bytes([len(text)]) + text,
            b"S'" + text + b"'\n",
            b"S'" + esc + b"'\n",
            b"\x8d" + struct.pack("<Q", len(text)) + text,
        ]
    )


def _global(name: tuple[str, str]) -> st.SearchStrategy[bytes]:
    m, n = name[0].encode(), name[1].encode()
    return st.one_of(
        st.just(b"c" + m + b"\n" + n + b"\n"),
        st.tuples(_strings(m), _strings(n)).map(lambda t: t[0] + t[1] + b"\x93"),
        st.tuples(_strings(m), st.sampled_from(KEY_TEXT), _strings(n)).map(
            lambda t: t[0] + b"p" + t[1] + b"\n0g" + t[1] + b"\n" + t[2] + b"\x93"
        ),
    )


_LITERALS = st.one_of(
    st.sampled_from(INT_TEXT).map(lambda t: b"I" + t + b"\n"),
    st.sampled_from(INT_TEXT).map(lambda t: b"L" + t + b"L\n"),
    st.sampled_from(FLOAT_TEXT).map(lambda t: b"F" + t + b"\n"),
    st.sampled_from(STRING_TEXT).map(lambda t: b"S" + t + b"\n"),
    st.sampled_from([b"N", b"\x88", b"K\x01", b"J\x00\x00\x00\x80", b"\x8a\x01\xff"]),
    st.binary(max_size=80).map(lambda b: b"\x8b" + struct.pack("<i", len(b)) + b"\x00" + b),
)
_GLOBALS = st.sampled_from(NAMES).flatmap(_global)


def _extend(values: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    items = st.lists(values, max_size=3)
    pairs = st.lists(st.tuples(_LITERALS, values), max_size=2)
    return st.one_of(
        st.tuples(_GLOBALS, items).map(lambda t: t[0] + b"(" + b"".join(t[1]) + b"tR"),
        st.tuples(_GLOBALS, items).map(lambda t: t[0] + b"(" + b"".join(t[1]) + b"t\x81"),
        st.tuples(st.sampled_from(NAMES), items).map(
            lambda t: (
                b"(" + b"".join(t[1]) + b"i" + t[0][0].encode() + b"\n" + t[0][1].encode() + b"\n"
            )
        ),
        st.tuples(_GLOBALS, items).map(lambda t: b"(" + t[0] + b"".join(t[1]) + b"o"),
        items.map(lambda i: b"(" + b"".join(i) + b"t"),
        items.map(lambda i: b"](" + b"".join(i) + b"e"),
        pairs.map(lambda p: b"}(" + b"".join(k + v for k, v in p) + b"u"),
        st.tuples(_GLOBALS, pairs).map(
            lambda t: t[0] + b")R}(" + b"".join(k + v for k, v in t[1]) + b"ub"
        ),
        st.tuples(values, st.sampled_from(KEY_TEXT)).map(
            lambda t: t[0] + b"p" + t[1] + b"\n0g" + t[1] + b"\n"
        ),
        values.map(lambda v: v + b"\x94"),
        values.map(lambda v: b"\x95" + struct.pack("<Q", len(v)) + v),
    )


_VALUES = st.recursive(st.one_of(_LITERALS, _GLOBALS), _extend, max_leaves=8)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Mostly well-formed pickles (discarded values, then one value and STOP), then mutated:
    a random opcode inserted, bytes dropped, or the stream cut."""
    head = draw(st.sampled_from([b"", b"\x80\x02", b"\x80\x04"]))
    body = b"".join(v + b"0" for v in draw(st.lists(_VALUES, max_size=2)))
    data = head + body + draw(_VALUES) + b"."
    mutation = draw(st.integers(0, 5))
    if mutation == 1:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(_ops()) + data[at:]
    elif mutation == 2:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + data[at + 1 :]
    elif mutation == 3:
        data = data[: draw(st.integers(0, len(data)))]
    return data


POLICY = GlobalPolicy.default()


def walk(data: bytes) -> tuple[bool, bool, set[str]]:
    res = PickleWalker(Window.of_bytes(data), POLICY).walk()
    return res.complete, res.limited, {g.dotted for g in res.globals}


def _importable(dotted: str) -> bool:
    return all(dotted.split("."))


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(streams())
@example(b"I0x1f\n" + b"cos\nsystem\n" + b"(S'id'\ntR.")
@example(b"I12\x00junk\n0cos\nsystem\n.")
@example(b"L017L\n0cos\nsystem\n.")
@example(b"F1_0\n0cos\nsystem\n.")
@example(
    b"\x8b" + struct.pack("<i", (1 << 20) + 1) + b"\x00" * ((1 << 20) + 1) + b"0cos\nsystem\n."
)
@example(b"S'o\\x73'\nS'system'\n\x93.")
@example(b"(cos\nsystem\nS'id'\no.")
@example(b"\x95\x15" + bytes(7) + b"\x95\x0c" + bytes(7) + b"(ios\nsystem\x8c\x02os\n.")
def test_walker_reaches_what_cpython_reaches(data: bytes) -> None:
    complete, limited, reached = walk(data)
    c_ok, c_reached = cpython(C_UNPICKLER, data)
    py_ok, py_reached = cpython(PY_UNPICKLER, data)
    if c_ok and not limited:  # what pickle.load accepts, the walker accepts, same imports
        assert complete, data
        assert reached == c_reached, data
    if limited:  # an error verdict; in these streams only an opcode crossing a FRAME end
        assert b"\x95" in data, data
    elif not limited:  # everything imported before the C unpickler failed was reported
        assert c_reached <= reached, data
    if py_ok:  # joblib's unpickler: accepted streams are accepted, or C rejects them too
        assert complete or limited or not c_ok, data
        if complete:
            assert {g for g in py_reached if _importable(g)} <= reached, data


def test_stubs_are_inert() -> None:
    # REDUCE, NEWOBJ, BUILD, APPEND and SETITEM on stubs all succeed without importing anything.
    data = (
        b"\x80\x04"
        + _u8(b"os")
        + _u8(b"system")
        + b"\x93"
        + b")\x81"
        + b"}b"
        + b"cos\nsystem\n(S'id'\ntR"
        + b"N\x86."
    )
    ok, reached = cpython(C_UNPICKLER, data)
    assert ok and reached == {"os.system"}
    ok, reached = cpython(PY_UNPICKLER, data)
    assert ok and reached == {"os.system"}
