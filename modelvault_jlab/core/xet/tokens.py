"""Xet CAS access tokens: stateless, HMAC-signed grants for one Hub repo at one revision.

A token is ``xet1.<base64url JSON claims>.<base64url HMAC-SHA256>``; the claims are
``{repository, repo_type, repo_id, revision, scope, exp, who}``. The Hub token that asked for it
was checked when it was issued (``xet-{read,write}-token``); the TTL is short (minutes) so that a
revoked Hub token stops working at the client's next refresh, without a 401 mid-transfer (which
hf_xet treats as fatal). ``write`` covers ``read`` (hf_xet queries dedup with its write token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ...errors import AuthenticationError, PermissionDeniedError
from ...ids import REPO_TYPES, RepoType
from ...storage.meta import SettingsStore

Scope = Literal["read", "write"]
DEFAULT_TTL_SECONDS = 600
MAX_TOKEN_CHARS = 4096
"""Longer bearer values are refused before any decoding."""
_PREFIX = "xet1"


@dataclass(frozen=True)
class XetGrant:
    repository: str
    repo_type: RepoType
    repo_id: str
    revision: str
    scope: Scope
    exp: int
    who: str = ""
    """The principal the token was issued to (for the audit log)."""
    member: str = ""
    """For a virtual ``repository``: the member repository the revision resolved in when the
    token was issued (under the requester's access); reads resolve there and nowhere else."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class XetTokens:
    def __init__(
        self,
        key: bytes,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(key) < 32:
            raise ValueError("A Xet token key needs at least 32 bytes.")
        self._key = key
        self._ttl = max(1, int(ttl_seconds))
        self._clock = clock

    def _mac(self, claims: str) -> bytes:
        return hmac.new(self._key, f"{_PREFIX}.{claims}".encode(), hashlib.sha256).digest()

    def issue(
        self,
        repository: str,
        repo_type: RepoType,
        repo_id: str,
        revision: str,
        scope: Scope,
        *,
        who: str = "",
        member: str = "",
    ) -> tuple[str, int]:
        """A token for ``scope`` on the repo, and its expiry (Unix seconds)."""
        exp = int(self._clock()) + self._ttl
        claims = _b64(
            json.dumps(
                {
                    "repository": repository,
                    "repo_type": repo_type,
                    "repo_id": repo_id,
                    "revision": revision,
                    "scope": scope,
                    "exp": exp,
                    "who": who,
                    **({"member": member} if member else {}),
                },
                separators=(",", ":"),
            ).encode()
        )
        return f"{_PREFIX}.{claims}.{_b64(self._mac(claims))}", exp

    def verify(self, token: str, scope: Scope) -> XetGrant:
        """The grant a token carries, if it is genuine, unexpired and covers ``scope``.

        Raises:
            AuthenticationError: malformed, forged or expired (401).
            PermissionDeniedError: a read token used for a write (403).
        """
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthenticationError("Invalid Xet token.")
        prefix, _, rest = token.partition(".")
        claims, _, mac = rest.partition(".")
        if prefix != _PREFIX or not claims or not mac:
            raise AuthenticationError("Invalid Xet token.")
        try:
            given = _unb64(mac)
        except (binascii.Error, ValueError):
            raise AuthenticationError("Invalid Xet token.") from None
        if not hmac.compare_digest(given, self._mac(claims)):
            raise AuthenticationError("Invalid Xet token: its signature does not match.")
        grant = _grant(claims)
        if grant.exp <= self._clock():
            raise AuthenticationError("Xet token expired: ask for a new one.")
        if scope == "write" and grant.scope != "write":
            raise PermissionDeniedError("This Xet token is read-only; a write token is needed.")
        return grant


def _grant(claims: str) -> XetGrant:
    """The claims of a genuine token (signed by us, so a failure here is a bug or a key reuse)."""
    try:
        raw = json.loads(_unb64(claims))
    except (binascii.Error, ValueError):
        raise AuthenticationError("Invalid Xet token.") from None
    if not isinstance(raw, dict):
        raise AuthenticationError("Invalid Xet token.")
    strings = ("repository", "repo_type", "repo_id", "revision", "scope", "who")
    exp = raw.get("exp")
    if (
        not all(isinstance(raw.get(k), str) for k in strings)
        or not isinstance(raw.get("member", ""), str)
        or not isinstance(exp, int)
        or isinstance(exp, bool)
        or raw["scope"] not in ("read", "write")
        or raw["repo_type"] not in REPO_TYPES
    ):
        raise AuthenticationError("Invalid Xet token.")
    return XetGrant(
        raw["repository"],
        raw["repo_type"],
        raw["repo_id"],
        raw["revision"],
        raw["scope"],
        exp,
        raw["who"],
        raw.get("member", ""),
    )


def xet_tokens_for(
    settings: SettingsStore, ttl_seconds: int, clock: Callable[[], float] = time.time
) -> XetTokens:
    """The vault's token service: its key is a setting made once (first writer wins), so every
    replica sharing the metadata store verifies every other one's tokens."""
    key = settings.set_setting_if_absent("xet_token_key", secrets.token_hex(32))
    return XetTokens(bytes.fromhex(key), ttl_seconds, clock)
