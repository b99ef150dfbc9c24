"""Permission targets: which users and groups may read, write or administer which repos.

The model is Artifactory's permission target: a target names repositories (vault repository
keys, or ``*`` for all), include and exclude patterns on the repo ids inside them (``team-a/**``)
and an action per principal (``user:alice``, ``group:ml``). A user's right on a repo is the
highest action any matching target grants the user or one of their groups; a repo id matches a
target when an include pattern matches and no exclude pattern does.

Targets rule *users*: principals that carry a ``user`` (JupyterHub users who are not Hub admins,
and tokens owned by a user, ``created_by = "user:<name>"``). Tokens only narrow: a user's token
keeps its own scope and repository limits on top of the targets. Vault admins, the Jupyter user
of an embedded vault and tokens issued by an admin for a service are not ruled by targets.

Patterns use Ant syntax as Artifactory does: ``*`` any characters within one path segment,
``**`` any number of segments, ``?`` one character; matching ignores case, as repo ids do.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]  # google-re2: no stubs

from ..errors import AuthenticationError, InvalidInputError, NotFoundError, PermissionDeniedError
from ..storage.permissions import PermissionStore, TargetRecord
from .audit import AuditLog
from .identity import RANK, SCOPES, Action, Principal

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Target and group names."""
USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
"""User names as JupyterHub allows them (normalised, no spaces or slashes)."""
GRANTEE = re.compile(r"^(user|group):(.+)$")
PATTERN = re.compile(r"^[A-Za-z0-9._*?/-]{1,200}$")
ANY_REPOSITORY = "*"
MAX_PATTERNS = 32
MAX_REPOSITORIES = 256
MAX_GRANTS = 256
MAX_TARGETS = 1000
MAX_MEMBERS = 10_000
CACHE_SECONDS = 1.0
"""How long a snapshot of targets and memberships is trusted: a change made through this process
applies at once, one made through another replica within this delay."""


def _text_list(body: Mapping[str, Any], key: str, default: list[str], limit: int) -> list[str]:
    value = body.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"'{key}' must be a list of strings.")
    if len(value) > limit:
        raise InvalidInputError(f"'{key}' may hold at most {limit} entries.")
    return list(value)


class Matcher(Protocol):
    """A compiled pattern set (RE2: matching time linear in the repo id, whatever the pattern)."""

    def fullmatch(self, text: str) -> object | None: ...


def compile_patterns(patterns: Iterable[str]) -> Matcher | None:
    """One expression matching any of the Ant patterns, None for none.

    Compiled with RE2, not :mod:`re`: ``*a*a*a*a*a*a*a*a`` as a backtracking regex takes
    exponential time on ``aaa…`` (seconds at 8 stars, hours soon after); RE2's automaton is
    linear in the input.

    Raises:
        InvalidInputError: a pattern with characters a repo id cannot hold.
    """
    parts = []
    for pattern in patterns:
        if not PATTERN.fullmatch(pattern):  # fullmatch: ``$`` alone lets a final newline in
            raise InvalidInputError(
                f"Invalid pattern {pattern[:80]!r}: use letters, digits, '._-/' and the "
                "wildcards '*', '**' and '?'."
            )
        tokens = re.split(r"(\*\*/?|\*|\?)", pattern)
        regex = ""
        for tok in tokens:
            if tok.startswith("**"):
                regex += "(?:.*/)?" if tok == "**/" else ".*"
            elif tok == "*":
                regex += "[^/]*"
            elif tok == "?":
                regex += "[^/]"
            else:
                regex += re.escape(tok)
        parts.append(f"(?:{regex})")
    if not parts:
        return None
    matcher: Matcher = re2.compile("(?i)" + "|".join(parts))
    return matcher


@dataclass(frozen=True)
class PermissionTarget:
    name: str
    repositories: tuple[str, ...]
    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()
    grants: Mapping[str, Action] = field(default_factory=dict)
    _include: Matcher | None = field(default=None, compare=False, repr=False)
    _exclude: Matcher | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_json(cls, name: str, body: object) -> PermissionTarget:
        """A target from its JSON form, checked field by field.

        Raises:
            InvalidInputError: anything malformed, an unknown action or grantee kind.
        """
        if not NAME.match(name):
            raise InvalidInputError(f"Invalid target name {name[:80]!r}.")
        if not isinstance(body, dict):
            raise InvalidInputError("A permission target is a JSON object.")
        unknown = set(body) - {"name", "repositories", "include", "exclude", "grants"}
        if unknown:
            raise InvalidInputError(f"Unknown permission target fields: {sorted(unknown)}.")
        repositories = _text_list(body, "repositories", [], MAX_REPOSITORIES)
        if not repositories:
            raise InvalidInputError("'repositories' must name at least one repository (or '*').")
        for key in repositories:
            if key != ANY_REPOSITORY and not re.match(r"^[a-z0-9][a-z0-9._-]{0,62}$", key):
                raise InvalidInputError(f"Invalid repository key {key[:80]!r}.")
        include = _text_list(body, "include", ["**"], MAX_PATTERNS)
        exclude = _text_list(body, "exclude", [], MAX_PATTERNS)
        grants = body.get("grants", {})
        if not isinstance(grants, dict) or len(grants) > MAX_GRANTS:
            raise InvalidInputError(
                f"'grants' must map at most {MAX_GRANTS} 'user:NAME' or 'group:NAME' to an action."
            )
        checked: dict[str, Action] = {}
        for grantee, action in grants.items():
            m = GRANTEE.match(grantee)
            if m is None or not (USER if m.group(1) == "user" else NAME).match(m.group(2)):
                raise InvalidInputError(
                    f"Invalid grantee {grantee[:80]!r}: expected 'user:NAME' or 'group:NAME'."
                )
            if action not in SCOPES:
                raise InvalidInputError(f"Invalid action {action!r}: expected one of {SCOPES}.")
            checked[grantee] = action
        return cls(
            name=name,
            repositories=tuple(sorted(set(repositories))),
            include=tuple(include),
            exclude=tuple(exclude),
            grants=checked,
            _include=compile_patterns(include),
            _exclude=compile_patterns(exclude),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "repositories": list(self.repositories),
            "include": list(self.include),
            "exclude": list(self.exclude),
            "grants": dict(sorted(self.grants.items())),
        }

    def matches(self, repo_id: str) -> bool:
        if self._include is None or not self._include.fullmatch(repo_id):
            return False
        return self._exclude is None or not self._exclude.fullmatch(repo_id)


@dataclass(frozen=True)
class _Snapshot:
    targets: tuple[PermissionTarget, ...]
    groups: Mapping[str, frozenset[str]]
    """user -> the groups they belong to (vault and Hub memberships)."""
    hub_groups: Mapping[str, frozenset[str]]
    """user -> the groups JupyterHub reported at their last sign-in."""
    revision: int
    taken_at: float


@dataclass(frozen=True)
class _Grant:
    target: PermissionTarget
    rank: int


class PermissionService:
    """Decides a user's right on a repo from the targets; manages targets and vault groups."""

    def __init__(
        self,
        store: PermissionStore,
        audit: AuditLog,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        # per (snapshot, user, groups): the grants that apply, by repository key
        self._grants: dict[tuple[str, frozenset[str]], dict[str, list[_Grant]]] = {}

    # -- decisions --
    def _current(self) -> _Snapshot:
        snap = self._snapshot
        if snap is not None and self._clock() - snap.taken_at < CACHE_SECONDS:
            return snap
        with self._lock:
            revision = self._store.revision()
            if snap is not None and snap.revision == revision:  # unchanged: one small read
                snap = replace(snap, taken_at=self._clock())
                self._snapshot = snap
                return snap
            targets = tuple(
                PermissionTarget.from_json(r.name, json.loads(r.spec))
                for r in self._store.list_targets()
            )
            groups: dict[str, set[str]] = {}
            hub: dict[str, set[str]] = {}
            for m in self._store.list_memberships():
                groups.setdefault(m.user, set()).add(m.group)
                if m.source == "hub":
                    hub.setdefault(m.user, set()).add(m.group)
            snap = _Snapshot(
                targets,
                {u: frozenset(g) for u, g in groups.items()},
                {u: frozenset(g) for u, g in hub.items()},
                revision,
                self._clock(),
            )
            self._snapshot = snap
            self._grants = {}
        return snap

    def _invalidate(self) -> None:
        self._snapshot = None

    def _grants_for(self, user: str, hub_groups: frozenset[str]) -> dict[str, list[_Grant]]:
        snap = self._current()
        key = (user, hub_groups)
        cached = self._grants.get(key)
        if cached is not None:
            return cached
        grantees = {f"user:{user}"} | {
            f"group:{g}" for g in hub_groups | snap.groups.get(user, frozenset())
        }
        by_repository: dict[str, list[_Grant]] = {}
        for target in snap.targets:
            rank = max((RANK[a] for g, a in target.grants.items() if g in grantees), default=0)
            if rank:
                for repository in target.repositories:
                    by_repository.setdefault(repository, []).append(_Grant(target, rank))
        if len(self._grants) > 10_000:  # bounded: a flood of distinct users cannot grow it
            self._grants.clear()
        self._grants[key] = by_repository
        return by_repository

    def rank(self, who: Principal, repository: str | None, repo_id: str | None) -> int:
        """The highest action rank (0 none, 1 read, 2 write, 3 admin) the targets give ``who``.

        Without ``repository``, the best right anywhere; without ``repo_id``, the best right on
        any repo of ``repository`` (the repo-level check refines it).
        """
        if who.user is None:
            return 0
        grants = self._grants_for(who.user, who.groups)
        if repository is None:
            candidates = [g for gs in grants.values() for g in gs]
        else:
            candidates = grants.get(repository, []) + grants.get(ANY_REPOSITORY, [])
        best = 0
        for grant in candidates:
            if grant.rank > best and (repo_id is None or grant.target.matches(repo_id)):
                best = grant.rank
        # administering the vault itself (repositories, targets, tokens) is never granted by a
        # target: admin on some repos is not admin of the vault
        return min(best, RANK["write"]) if repository is None else best

    def allows(
        self, who: Principal, action: Action, repository: str | None, repo_id: str | None
    ) -> bool:
        return self.rank(who, repository, repo_id) >= RANK[action]

    # -- administration: vault admins only (a target never makes a user one) --
    @staticmethod
    def _require_admin(who: Principal) -> None:
        if not who.is_admin:
            if who.is_anonymous:
                raise AuthenticationError("Authentication required: send a ModelVault token.")
            raise PermissionDeniedError(
                f"'{who.name}' is not an administrator of this vault: permissions are "
                "managed by vault admins."
            )

    def list_targets(self, who: Principal) -> list[PermissionTarget]:
        self._require_admin(who)
        return list(self._current().targets)

    def get_target(self, who: Principal, name: str) -> PermissionTarget:
        self._require_admin(who)
        for target in self._current().targets:
            if target.name == name:
                return target
        raise NotFoundError(f"No permission target named {name[:80]!r}.")

    def put_target(self, who: Principal, name: str, body: object) -> PermissionTarget:
        """Create or replace a target.

        Raises:
            PermissionDeniedError: ``who`` is not a vault admin.
            InvalidInputError: a malformed target, or too many targets.
        """
        self._require_admin(who)
        target = PermissionTarget.from_json(name, body)
        if (
            name not in {t.name for t in self._current().targets}
            and len(self._current().targets) >= MAX_TARGETS
        ):
            raise InvalidInputError(f"At most {MAX_TARGETS} permission targets.")
        spec = json.dumps(target.to_json(), sort_keys=True)
        self._store.put_target(TargetRecord(name, spec, who.name, time.time()))
        self._invalidate()
        self._audit.record(who, "permission.target.put", subject=name, target=target.to_json())
        return target

    def delete_target(self, who: Principal, name: str) -> None:
        self._require_admin(who)
        if not self._store.delete_target(name):
            raise NotFoundError(f"No permission target named {name[:80]!r}.")
        self._invalidate()
        self._audit.record(who, "permission.target.delete", subject=name)

    def groups(self, who: Principal) -> dict[str, dict[str, list[str]]]:
        """Every group with its members, by source (``vault``, ``hub``)."""
        self._require_admin(who)
        out: dict[str, dict[str, list[str]]] = {}
        for m in self._store.list_memberships():
            out.setdefault(m.group, {"vault": [], "hub": []})[m.source].append(m.user)
        return out

    def set_group(self, who: Principal, name: str, members: object) -> list[str]:
        """Replace the vault-managed members of a group (Hub memberships are the Hub's).

        Raises:
            PermissionDeniedError: ``who`` is not a vault admin.
            InvalidInputError: a bad group or user name, too many members.
        """
        self._require_admin(who)
        if not NAME.match(name):
            raise InvalidInputError(f"Invalid group name {name[:80]!r}.")
        if not isinstance(members, list) or len(members) > MAX_MEMBERS:
            raise InvalidInputError(f"'members' must be a list of at most {MAX_MEMBERS} users.")
        for user in members:
            if not isinstance(user, str) or not USER.match(user):
                raise InvalidInputError(f"Invalid user name {str(user)[:80]!r}.")
        self._store.set_group(name, members)
        self._invalidate()
        self._audit.record(who, "permission.group.put", subject=name, members=sorted(set(members)))
        return sorted(set(members))

    def delete_group(self, who: Principal, name: str) -> None:
        self._require_admin(who)
        if not self._store.delete_group(name):
            raise NotFoundError(f"No vault group named {name[:80]!r}.")
        self._invalidate()
        self._audit.record(who, "permission.group.delete", subject=name)

    def record_hub_groups(self, user: str, groups: Iterable[str]) -> None:
        """What JupyterHub says ``user`` belongs to, kept for their tokens (written on change)."""
        wanted = frozenset(g for g in groups if NAME.match(g))
        if self._current().hub_groups.get(user, frozenset()) != wanted:
            self._store.set_hub_groups(user, wanted)
            self._invalidate()
