"""Xet CAS tokens: genuine ones verify; forged, altered, expired, other-key, wrong-scope and
garbage ones are refused with the right error class."""

from __future__ import annotations

import pytest

from modelvault_jlab.core.xet.tokens import MAX_TOKEN_CHARS, XetGrant, XetTokens
from modelvault_jlab.errors import AuthenticationError, PermissionDeniedError

KEY = bytes(range(32))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_issue_and_verify_round_trip() -> None:
    clock = Clock()
    tokens = XetTokens(KEY, 600, clock)
    token, exp = tokens.issue("models", "model", "org/name", "main", "write", who="alice")
    assert exp == int(clock.now) + 600
    grant = tokens.verify(token, "write")
    assert grant == XetGrant("models", "model", "org/name", "main", "write", exp, "alice")
    assert tokens.verify(token, "read") == grant  # write covers read (dedup queries)


def test_read_token_cannot_write() -> None:
    tokens = XetTokens(KEY)
    token, _ = tokens.issue("models", "dataset", "org/d", "refs/pr/1", "read")
    assert tokens.verify(token, "read").scope == "read"
    with pytest.raises(PermissionDeniedError):
        tokens.verify(token, "write")


def test_expiry() -> None:
    clock = Clock()
    tokens = XetTokens(KEY, 60, clock)
    token, exp = tokens.issue("models", "model", "o/n", "main", "read")
    clock.now = exp - 1
    tokens.verify(token, "read")
    clock.now = exp
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.verify(token, "read")


def test_forgeries_are_refused() -> None:
    tokens = XetTokens(KEY)
    token, _ = tokens.issue("models", "model", "o/n", "main", "read")
    prefix, claims, mac = token.split(".")
    other = XetTokens(bytes(32))
    forged_claims = other.issue("models", "model", "o/n", "main", "write")[0].split(".")[1]
    bad = [
        "",
        "Bearer",
        token + "x",
        f"{prefix}.{forged_claims}.{mac}",  # altered claims (write scope), old signature
        other.issue("models", "model", "o/n", "main", "read")[0],  # another vault's key
        f"xet2.{claims}.{mac}",
        f"{prefix}.{claims}",
        f"{prefix}.{claims}.{mac}.{mac}",
        f"{prefix}.{claims}.!!!",
        "x" * (MAX_TOKEN_CHARS + 1),
    ]
    for value in bad:
        with pytest.raises(AuthenticationError):
            tokens.verify(value, "read")


def test_short_key_refused() -> None:
    with pytest.raises(ValueError):
        XetTokens(b"short")
