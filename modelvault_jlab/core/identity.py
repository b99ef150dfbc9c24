"""Principals, scoped API tokens and the access rule.

Tokens look like ``mvt_<id>_<secret>``. Only the sha256 of the secret is stored (the secret has 256
bits of entropy, so a slow KDF buys nothing); the id makes lookup a primary-key read and is safe to
show in audit logs.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
)
from ..ids import validate_repository_key
from ..storage.meta import RepositoryStore, TokenStore
from ..storage.records import TokenRecord

Action = Literal["read", "write", "admin"]
SCOPES: tuple[Action, ...] = ("read", "write", "admin")
_RANK: dict[str, int] = {"read": 1, "write": 2, "admin": 3}
RANK = _RANK
USER_OWNER_PREFIX = "user:"
"""``created_by`` of a token owned by a user whom permission targets rule (``core.permissions``)."""
TOKEN_PREFIX = "mvt_"  # noqa: S105 - a prefix, not a secret
MAX_CHILD_TOKEN_SECONDS = 7 * 24 * 3600.0
"""Longest life of a token minted by a non-admin token (kernel tokens live hours)."""
MAX_TOKEN_SECONDS = 10 * 365 * 24 * 3600.0
"""Longest stated life of any token; longer means "no expiry", which is said by omitting it."""


def token_lifetime(value: object) -> float | None:
    """``expires_in_seconds`` as given by a caller: omitted, or a finite number of seconds in
    (0, :data:`MAX_TOKEN_SECONDS`]. NaN compares false with everything, so an unchecked NaN would
    slip past every ``min``/``<=`` below and give a token that never expires.

    Raises:
        InvalidInputError: a bool, a string, NaN, an infinity, zero, negative or too large.
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_TOKEN_SECONDS
    ):
        raise InvalidInputError(
            f"'expires_in_seconds' must be a number of seconds between 0 and {MAX_TOKEN_SECONDS:.0f}"
            " (omit it for a token that does not expire)."
        )
    return float(value)


@dataclass(frozen=True)
class Principal:
    """Who is asking. ``repositories`` empty means every repository."""

    name: str
    scope: Action | None
    kind: Literal["token", "jupyter", "anonymous", "system", "hub"]
    token_id: str | None = None
    repositories: frozenset[str] = field(default_factory=frozenset)
    remote_addr: str | None = None
    """Where the request came from, for the audit log; set by the adapter."""
    user: str | None = None
    """The user whose permission targets bound this principal (a JupyterHub user, a user's
    token); None: scope and repositories alone decide (admins, service tokens, Jupyter)."""
    groups: frozenset[str] = field(default_factory=frozenset)
    """The user's groups as the sign-in reported them (JupyterHub groups)."""

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin" and not self.repositories and self.user is None

    def allows(self, action: Action, repository: str | None) -> bool:
        if self.scope is None or _RANK[self.scope] < _RANK[action]:
            return False
        return not self.repositories or repository in self.repositories


ANONYMOUS = Principal(name="anonymous", scope=None, kind="anonymous")
SYSTEM = Principal(name="system", scope="admin", kind="system")


def jupyter_user(name: str) -> Principal:
    """The user logged in to the Jupyter server hosting the vault administers it."""
    return Principal(name=name, scope="admin", kind="jupyter")


@dataclass(frozen=True)
class IssuedToken:
    """A token as shown once to its owner; only ``record`` is stored."""

    secret: str
    record: TokenRecord


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def require_live(record: TokenRecord, now: float) -> None:
    """Raises AuthenticationError when the token is revoked or expired."""
    if record.revoked_at is not None:
        raise AuthenticationError(f"Token '{record.name}' was revoked.")
    if record.expires_at is not None and record.expires_at <= now:
        raise AuthenticationError(f"Token '{record.name}' has expired.")


class IdentityService:
    """Issues, checks and revokes API tokens; decides what a principal may do."""

    def __init__(self, meta: TokenStore, clock: Callable[[], float] = time.time) -> None:
        self._meta = meta
        self._clock = clock

    def issue_token(
        self,
        *,
        name: str,
        scope: Action,
        created_by: str,
        repositories: Iterable[str] = (),
        expires_in_seconds: object = None,
        description: str = "",
        parent_id: str | None = None,
    ) -> IssuedToken:
        if scope not in SCOPES:
            raise InvalidInputError(f"Invalid scope {scope!r}: expected one of {SCOPES}.")
        if not name or len(name) > 100:
            raise InvalidInputError("A token needs a name of 1-100 characters.")
        repos = tuple(sorted({validate_repository_key(r) for r in repositories}))
        expires_in_seconds = token_lifetime(expires_in_seconds)
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = self._clock()
        record = TokenRecord(
            id=token_id,
            name=name,
            secret_hash=_hash_secret(secret),
            scopes=(scope,),
            repositories=repos,
            created_by=created_by,
            created_at=now,
            expires_at=None if expires_in_seconds is None else now + expires_in_seconds,
            revoked_at=None,
            description=description,
            parent_id=parent_id,
        )
        self._meta.create_token(record)
        return IssuedToken(secret=f"{TOKEN_PREFIX}{token_id}_{secret}", record=record)

    def issue_child_token(
        self,
        parent: Principal,
        *,
        name: str,
        scope: Action,
        repositories: Iterable[str] = (),
        expires_in_seconds: object = None,
        description: str = "",
    ) -> IssuedToken:
        """A token minted with a non-admin token, e.g. one per notebook kernel: the same user, a
        scope no wider, repositories within the parent's, an expiry no later than the parent's
        (and at most :data:`MAX_CHILD_TOKEN_SECONDS`); revoking the parent revokes it. A child
        cannot mint, so a leaked child cannot outlive or outgrow what it came from.

        Raises:
            PermissionDeniedError: the parent is not a token, is a child, or asks for more than
                it has.
        """
        if parent.kind == "hub":
            return self._issue_for_hub_user(
                parent,
                name=name,
                scope=scope,
                repositories=repositories,
                expires_in_seconds=expires_in_seconds,
                description=description,
            )
        record = self._meta.get_token(parent.token_id) if parent.token_id else None
        if parent.kind != "token" or record is None:
            raise PermissionDeniedError("Only a token can mint a narrower token.")
        if record.parent_id is not None:
            raise PermissionDeniedError(
                f"Token '{record.name}' was itself minted by a token and cannot mint another."
            )
        if scope not in SCOPES or parent.scope is None or _RANK[scope] > _RANK[parent.scope]:
            raise PermissionDeniedError(
                f"A token of scope '{parent.scope}' cannot mint a token of scope {scope!r}."
            )
        wanted: set[str] = {validate_repository_key(r) for r in repositories}
        if parent.repositories:
            if not wanted <= parent.repositories:
                outside = ", ".join(sorted(wanted - parent.repositories))
                raise PermissionDeniedError(
                    f"Token '{record.name}' cannot mint access to other repositories ({outside})."
                )
            wanted = wanted or set(parent.repositories)
        now = self._clock()
        asked = token_lifetime(expires_in_seconds)
        life = min(asked or MAX_CHILD_TOKEN_SECONDS, MAX_CHILD_TOKEN_SECONDS)
        if record.expires_at is not None:
            life = min(life, record.expires_at - now)
        if life <= 0:
            raise InvalidInputError("'expires_in_seconds' must be positive.")
        return self.issue_token(
            name=name,
            scope=scope,
            # a user's child token stays theirs: their permission targets keep bounding it
            created_by=f"{USER_OWNER_PREFIX}{parent.user}" if parent.user else parent.name,
            repositories=wanted,
            expires_in_seconds=life,
            description=description,
            parent_id=record.id,
        )

    def _issue_for_hub_user(
        self,
        user: Principal,
        *,
        name: str,
        scope: Action,
        repositories: Iterable[str],
        expires_in_seconds: object,
        description: str,
    ) -> IssuedToken:
        """A JupyterHub user's own token (a kernel's): owned by the user, so their permission
        targets bound it on every use, and short-lived like any child token."""
        if user.user is None:
            raise PermissionDeniedError("Only a JupyterHub user can mint a token this way.")
        asked = token_lifetime(expires_in_seconds)
        return self.issue_token(
            name=name,
            scope=scope,
            created_by=f"{USER_OWNER_PREFIX}{user.user}",
            repositories=repositories,
            expires_in_seconds=min(asked or MAX_CHILD_TOKEN_SECONDS, MAX_CHILD_TOKEN_SECONDS),
            description=description,
        )

    @staticmethod
    def looks_like_token(value: str) -> bool:
        return value.startswith(TOKEN_PREFIX)

    def authenticate(self, presented: str) -> Principal:
        """Turn a presented token into a principal.

        Raises:
            AuthenticationError: malformed, unknown, revoked or expired token.
        """
        if not presented.startswith(TOKEN_PREFIX):
            raise AuthenticationError("Invalid token: not a ModelVault token.")
        token_id, _, secret = presented[len(TOKEN_PREFIX) :].partition("_")
        record = self._meta.get_token(token_id) if token_id and secret else None
        if record is None or not hmac.compare_digest(record.secret_hash, _hash_secret(secret)):
            raise AuthenticationError("Invalid token: unknown or wrong secret.")
        require_live(record, self._clock())
        owner = record.created_by
        user = owner[len(USER_OWNER_PREFIX) :] if owner.startswith(USER_OWNER_PREFIX) else None
        return Principal(
            name=user or owner,
            scope=record.scopes[0],  # type: ignore[arg-type]
            kind="token",
            token_id=record.id,
            repositories=frozenset(record.repositories),
            user=user or None,
        )

    def revoke(self, token_id: str) -> None:
        if not self._meta.revoke_token(token_id, self._clock()):
            raise NotFoundError(f"No active token with id {token_id!r}.")

    def revoke_child(self, parent: Principal, token_id: str) -> None:
        """A non-admin token revokes a token it minted (a kernel's, at shutdown)."""
        record = self._meta.get_token(token_id)
        if (
            record is not None
            and parent.kind == "hub"
            and parent.user is not None
            and record.created_by == f"{USER_OWNER_PREFIX}{parent.user}"
        ):
            self.revoke(token_id)  # a JupyterHub user revokes their own token (a kernel's)
            return
        if record is None or parent.token_id is None or record.parent_id != parent.token_id:
            raise NotFoundError(f"No token with id {token_id!r} was minted by this token.")
        self.revoke(token_id)

    def list_tokens(self) -> list[TokenRecord]:
        return self._meta.list_tokens()

    def get_token(self, token_id: str) -> TokenRecord | None:
        return self._meta.get_token(token_id)


class PermissionRule(Protocol):
    """What :class:`AccessPolicy` asks about users (``core.permissions.PermissionService``)."""

    def allows(
        self, who: Principal, action: Action, repository: str | None, repo_id: str | None
    ) -> bool: ...


class AccessPolicy:
    """The one access rule: scopes and repository limits, permission targets for users (a
    token only narrows what its user may do), plus public repositories for reads."""

    def __init__(self, meta: RepositoryStore, permissions: PermissionRule | None = None) -> None:
        self._meta = meta
        self._permissions = permissions

    def allows(
        self, who: Principal, action: Action, repository: str | None, repo_id: str | None = None
    ) -> bool:
        if who.allows(action, repository) and (
            who.user is None
            or (
                self._permissions is not None
                and self._permissions.allows(who, action, repository, repo_id)
            )
        ):
            return True
        if action == "read" and repository is not None:
            record = self._meta.get_repository(repository)
            return record is not None and record.public
        return False

    def require(
        self, who: Principal, action: Action, repository: str | None, repo_id: str | None = None
    ) -> None:
        """Raises AuthenticationError for anonymous callers and PermissionDeniedError otherwise;
        a user who may not even read a repository or repo is told it does not exist (as the
        Hub answers for private repos), so names they may not see do not leak."""
        if self.allows(who, action, repository, repo_id):
            return
        if who.is_anonymous:
            raise AuthenticationError(
                "Authentication required: send a ModelVault token "
                "(HF_TOKEN for huggingface_hub, the password for pip)."
            )
        if who.user is not None and repository is not None:
            if action != "read" and self.allows(who, "read", repository, repo_id):
                pass  # they see it: say what they lack
            else:
                raise RepoNotFoundError(
                    f"Repository Not Found: {repo_id or repository}."
                    if repo_id
                    else f"Repository '{repository[:80]}' does not exist in this vault."
                )
        where = f" on repository '{repository}'" if repository else ""
        if repo_id:
            where += f", repo '{repo_id}'"
        raise PermissionDeniedError(f"Token '{who.name}' lacks the '{action}' permission{where}.")
