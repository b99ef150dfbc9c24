"""The text operands of protocol 0 opcodes, parsed exactly as CPython's unpicklers parse them.

``pickle.load`` / ``torch.load`` / ``numpy.load`` use the C unpickler (``Modules/_pickle.c``);
joblib uses the pure-Python ``pickle._Unpickler``. They disagree on corner cases (C's ``INT`` goes
through ``strtol`` with base 0, so ``017`` is octal there and ``12\\0junk`` is 12; C strings stop at
a NUL; the Python unpickler accepts floats with underscores). An operand is accepted here when
*either* unpickler accepts it, with the C unpickler's value, so the walker never stops where a
loader keeps going. Every function takes the line without its trailing newline.
"""

from __future__ import annotations

import codecs
import math
import re
import warnings

_C_SPACE = b" \t\n\v\f\r"
# PyLong_FromString's grammar (Objects/longobject.c), after ASCII whitespace is stripped.
_LONG_BASE0 = re.compile(
    rb"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*"
    rb"|[1-9](?:_?[0-9])*)"
)
_LONG_BASE10 = re.compile(rb"[+-]?[0-9](?:_?[0-9])*")
# PyOS_string_to_double (Python/pystrtod.c + dtoa.c): no leading whitespace, no hex, no '_'.
_C_FLOAT = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf(?:inity)?|nan))"
)
_HEX = frozenset(b"0123456789abcdefABCDEF")
# every byte any numeric literal above can contain (C stops reading at a NUL)
_NUMERIC = frozenset(b" \t\n\v\f\r+-_.0123456789abcdefABCDEFxXoOnNiItTyYL")
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_VALUE_DIGITS = 4000  # literals longer than this are accepted without computing their value


def c_string(raw: bytes) -> bytes:
    """What C code sees of an operand: ``_Unpickler_CopyLine`` NUL-terminates a copy."""
    nul = raw.find(b"\0")
    return raw if nul < 0 else raw[:nul]


def _long_value(text: bytes, base: int) -> int:
    body = text.strip(_C_SPACE)
    if len(body) > _VALUE_DIGITS:
        return 0  # syntax already checked; the value of a huge literal does not matter here
    return int(body, base)


def py_long(text: bytes, base: int) -> int | None:
    """``PyLong_FromString(text, NULL, base)`` for base 0 or 10 (``int(text, base)`` without the
    digit-count limit, which a loader may have lifted); None when it raises."""
    body = text.strip(_C_SPACE)
    pattern = _LONG_BASE0 if base == 0 else _LONG_BASE10
    if not pattern.fullmatch(body):
        return None
    return _long_value(body, base)


def _strtol0(s: bytes) -> tuple[int | None, int]:
    """glibc ``strtol(s, &end, 0)``: (value or None on overflow, index of ``end``)."""
    i, n = 0, len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    sign = 1
    if i < n and s[i] in b"+-":
        sign = -1 if s[i] == 0x2D else 1
        i += 1
    base, digits = 10, b"0123456789"
    if i < n and s[i] == 0x30:
        if i + 2 < n and s[i + 1] in b"xX" and s[i + 2] in _HEX:
            base, digits = 16, b"0123456789abcdefABCDEF"
            i += 2
        else:
            base, digits = 8, b"01234567"
    start = i
    while i < n and s[i] in digits:
        i += 1
    if i == start:
        return 0, 0  # no conversion: end == s
    value = sign * int(s[start:i], base) if i - start <= _VALUE_DIGITS else 1 << 64
    if not _LONG_MIN <= value <= _LONG_MAX:
        return None, i  # ERANGE
    return value, i


def parse_int_line(raw: bytes) -> int | bool | None:
    """INT (``I``): C ``load_int`` (strtol, then PyLong_FromString base 0) or Python
    ``load_int`` (``00``/``01`` booleans, else ``int(data, 0)``). None: both reject."""
    s = c_string(raw)
    value, end = _strtol0(s)
    if value is not None and end > 0 and (end == len(s) or s[end] == 0x0A):
        if len(raw) == 2 and value in (0, 1):  # C: a 3-byte line with the newline
            return bool(value)
        return value
    c_value = py_long(s, 0)
    if c_value is not None:
        return c_value
    if raw in (b"00", b"01"):
        return raw == b"01"
    if b"\0" not in raw:
        return py_long(raw, 0)
    return None


def parse_long_line(raw: bytes) -> int | None:
    """LONG (``L``): an optional trailing ``L`` is dropped, then base 0 (C: the ``L`` becomes the
    NUL terminator; Python: ``val[:-1]``)."""
    body = raw[:-1] if raw.endswith(b"L") else raw
    value = py_long(c_string(body), 0)
    if value is None and b"\0" not in body:
        value = py_long(body, 0)
    return value


def parse_memo_key(raw: bytes) -> int | None:
    """PUT/GET (``p``/``g``) operand: base 10 (C stops at a NUL, Python does not)."""
    value = py_long(c_string(raw), 10)
    if value is None and b"\0" not in raw:
        value = py_long(raw, 10)
    return value


def parse_float_line(raw: bytes) -> float | None:
    """FLOAT (``F``): C ``PyOS_string_to_double`` up to a newline or NUL (overflow raises), or
    Python ``float(data)`` (whitespace and underscores allowed, overflow gives inf)."""
    s = c_string(raw)
    m = _C_FLOAT.match(s)
    if m and m.end() == len(s):
        value = float(m.group())
        literal_inf = b"inf" in m.group().lower()
        if not math.isinf(value) or literal_inf:
            return value
    try:
        return float(raw)
    except ValueError:
        return None


def decode_string_line(raw: bytes) -> bytes | None:
    """STRING (``S``): quoted, with Python 2 escapes (``PyBytes_DecodeEscape`` /
    ``codecs.escape_decode``). None when the quotes or an escape are invalid."""
    if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in b"'\"":
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes like "\q" only warn
        try:
            return bytes(codecs.escape_decode(raw[1:-1])[0])
        except ValueError:
            return None


def decode_unicode_line(raw: bytes) -> str | None:
    """UNICODE (``V``): raw-unicode-escape, strict."""
    try:
        return raw.decode("raw_unicode_escape")
    except UnicodeDecodeError:
        return None


def could_be_operand(kind: str, prefix: bytes) -> bool:
    """Could a line starting with ``prefix`` be a valid ``kind`` operand (``number`` for
    INT/LONG/FLOAT/PUT/GET, ``STRING``)? Other kinds: always."""
    if kind == "number":
        return all(c in _NUMERIC for c in c_string(prefix))
    if kind == "STRING":
        return prefix[:1] in (b"'", b'"')
    return True
