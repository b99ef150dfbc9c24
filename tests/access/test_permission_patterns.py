"""Properties of the permission-pattern parser (``core/permissions.py`` ``compile_patterns``):
it accepts exactly the documented grammar, matches as an independent reference matcher of the
documented Ant semantics does, and stays fast on hostile patterns and repo ids (no backtracking
blow-up: ``*a*a*a*a*a*a*a*a`` took seconds on ``aaa…`` with a backtracking regex)."""

from __future__ import annotations

import functools
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelvault_jlab.core.permissions import compile_patterns
from modelvault_jlab.errors import InvalidInputError

ALLOWED = frozenset(string.ascii_letters + string.digits + "._-/*?")
"""The documented pattern alphabet: letters, digits, '._-/' and the wildcards."""


def documented(pattern: str) -> bool:
    return 1 <= len(pattern) <= 200 and all(c in ALLOWED for c in pattern)


def _tokens(pattern: str) -> list[str]:
    out, i = [], 0
    while i < len(pattern):
        for tok in ("**/", "**", "*", "?"):
            if pattern.startswith(tok, i):
                break
        else:
            tok = pattern[i]
        out.append(tok)
        i += len(tok)
    return out


def reference(pattern: str, text: str) -> bool:
    """The documented semantics, by dynamic programming over (token, position): ``*`` any
    characters within one segment, ``**/`` any number of whole segments, ``**`` anything, ``?``
    one character other than '/', the rest literally, ignoring case."""
    toks, n = _tokens(pattern), len(text)

    @functools.cache
    def m(t: int, i: int) -> bool:
        if t == len(toks):
            return i == n
        tok = toks[t]
        if tok == "**/":
            return m(t + 1, i) or any(
                text[k - 1] == "/" and m(t + 1, k) for k in range(i + 1, n + 1)
            )
        if tok == "**":
            return any(m(t + 1, k) for k in range(i, n + 1))
        if tok == "*":
            return any(m(t + 1, k) for k in range(i, n + 1) if "/" not in text[i:k])
        if i == n:
            return False
        if tok == "?":
            return text[i] != "/" and m(t + 1, i + 1)
        return text[i].lower() == tok.lower() and m(t + 1, i + 1)

    return m(0, 0)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=220) | st.text(alphabet=sorted(ALLOWED | {"\n", " ", "\\"}), max_size=220))
def test_accepts_exactly_the_documented_grammar(pattern: str) -> None:
    if documented(pattern):
        assert compile_patterns([pattern]) is not None
    else:
        with pytest.raises(InvalidInputError):
            compile_patterns([pattern])


_PATTERN = st.text(alphabet="aB/*?.-", min_size=1, max_size=12)
_REPO_ID = st.text(alphabet="abAB/.-", max_size=14)


@settings(max_examples=600, deadline=None)
@given(st.lists(_PATTERN, min_size=1, max_size=3), _REPO_ID)
def test_matches_as_the_reference_matcher(patterns: list[str], repo_id: str) -> None:
    matcher = compile_patterns(patterns)
    assert matcher is not None
    expected = any(reference(p, repo_id) for p in patterns)
    assert (matcher.fullmatch(repo_id) is not None) == expected, (patterns, repo_id)


def test_no_patterns_compile_to_none_and_examples_hold() -> None:
    assert compile_patterns([]) is None
    m = compile_patterns(["team-a/**", "*/public-?"])
    assert m is not None
    assert m.fullmatch("Team-A/x/y") and m.fullmatch("org/public-1")
    assert not m.fullmatch("org/sub/public-1") and not m.fullmatch("team-b/x")


_HOSTILE = st.lists(st.sampled_from(["*a", "**a", "?", "*", "**/", "a"]), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_HOSTILE, min_size=1, max_size=32), st.integers(1, 200))
def test_hostile_patterns_compile_and_match_in_bounded_time(
    pieces: list[list[str]], length: int
) -> None:
    patterns = ["".join(p)[:200] for p in pieces]
    began = time.process_time()
    matcher = compile_patterns(patterns)
    assert matcher is not None
    for text in ("a" * length + "b", ("a/" * length)[:length], "a" * length):
        matcher.fullmatch(text)
    # a backtracking regex needs seconds at 8 stars and 60 characters; linear time needs ms
    assert time.process_time() - began < 1.0
