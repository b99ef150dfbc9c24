"""ModelVault repositories: named endpoints (``models-local``) of a kind (hf-local, …)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import InvalidInputError, RepoExistsError, RepositoryNotFoundError
from ..ids import validate_repository_key
from ..storage.meta import MetadataStore
from ..storage.records import REPOSITORY_KINDS, RepositoryRecord
from .audit import AuditLog
from .governance.policy.engine import effective_policies, parse_policies
from .identity import AccessPolicy, Principal
from .secrets import MASK, SecretBox

log = logging.getLogger(__name__)

ConfigValidator = Callable[[str, dict[str, Any]], dict[str, Any]]


def check_settings(
    kind: str, config: dict[str, Any], allowed: dict[str, type | tuple[type, ...]]
) -> None:
    """Every key known for ``kind``, of the right type, numbers not negative.

    Raises:
        InvalidInputError: naming the offending setting.
    """
    for key, value in config.items():
        if key not in allowed:
            raise InvalidInputError(
                f"Unknown {kind} setting {key!r}; expected one of {sorted(allowed)}."
            )
        expected = allowed[key]
        wrong_bool = expected is not bool and isinstance(value, bool)
        if not isinstance(value, expected) or wrong_bool:
            raise InvalidInputError(f"The {kind} setting {key!r} has the wrong type.")
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and not (
                math.isfinite(value) and value >= 0  # NaN passes every comparison: refuse it first
            )
        ):
            raise InvalidInputError(f"The {kind} setting {key!r} must be a finite number >= 0.")


"""Checks the kind-specific part of a repository's config; raises InvalidInputError."""


class RepositoryService:
    def __init__(
        self,
        meta: MetadataStore,
        access: AccessPolicy,
        audit: AuditLog,
        secrets: SecretBox | None = None,
    ) -> None:
        self._meta = meta
        self._access = access
        self._audit = audit
        self._validators: list[ConfigValidator] = []
        self.secrets = secrets or SecretBox.ephemeral()

    def add_config_validator(self, validator: ConfigValidator) -> None:
        self._validators.append(validator)

    def _validated(self, kind: str, config: dict[str, Any] | None) -> dict[str, Any]:
        config = dict(config or {})
        policies = config.pop("policies", None)
        if policies is not None and not (
            isinstance(policies, list)
            and all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in policies)
        ):
            raise InvalidInputError("'policies' must be a list of objects with a 'name'.")
        if policies:  # each override, merged into the global policy it names, must be valid
            effective_policies(parse_policies(self._meta.get_setting("policies")), policies, kind)
        for validate in self._validators:
            config = validate(kind, config)
        config = self.secrets.seal_config(config)  # stored encrypted, never in the clear
        return {**config, "policies": policies} if policies else config

    def seal_stored_secrets(self) -> int:
        """Start-up migration: credentials stored in the clear (or in an upstream URL, by older
        versions) are moved to their settings and encrypted. Returns how many repositories
        changed; a stored config that no longer validates is logged (its secrets are sealed)."""
        changed = 0
        for record in self._meta.list_repositories():
            try:
                config = self._validated(record.kind, record.config)
            except InvalidInputError as exc:  # its secrets are encrypted all the same
                log.warning("Repository %s: %s", record.key, exc.message)
                config = self.secrets.seal_config(record.config)
            if config != record.config:
                self._meta.update_repository(replace(record, config=config))
                changed += 1
        return changed

    def create(
        self,
        who: Principal,
        key: str,
        kind: str,
        *,
        description: str = "",
        public: bool = False,
        config: dict[str, Any] | None = None,
    ) -> RepositoryRecord:
        self._access.require(who, "admin", None)
        validate_repository_key(key)
        if kind not in REPOSITORY_KINDS:
            raise InvalidInputError(
                f"Invalid repository kind {kind!r}: expected one of {REPOSITORY_KINDS}."
            )
        record = self._meta.create_repository(
            RepositoryRecord(
                key=key,
                kind=kind,
                description=description,
                public=public,
                config=self._validated(kind, config),
                created_at=time.time(),
            )
        )
        self._audit.record(who, "repository.create", repository=key, kind=kind, public=public)
        return record

    def update(
        self,
        who: Principal,
        key: str,
        *,
        description: str | None = None,
        public: bool | None = None,
        config: dict[str, Any] | None = None,
    ) -> RepositoryRecord:
        """Change what may change: description, public flag, config (e.g. an offline switch)."""
        self._access.require(who, "admin", None)
        record = self._meta.get_repository(key)
        if record is None:
            raise RepositoryNotFoundError(f"Repository '{key[:80]}' does not exist.")
        updated = replace(
            record,
            description=record.description if description is None else description,
            public=record.public if public is None else public,
            config=record.config
            if config is None
            else self._validated(record.kind, _keep_masked_secrets(config, record.config)),
        )
        result = self._meta.update_repository(updated)
        self._audit.record(
            who,
            "repository.update",
            repository=key,
            public=result.public,
            config_keys=sorted(result.config),
        )
        return result

    def get(self, who: Principal, key: str) -> RepositoryRecord:
        """Raises RepositoryNotFoundError, also when the caller may not see it."""
        record = self._meta.get_repository(key)
        if record is None:
            raise RepositoryNotFoundError(f"Repository '{key[:80]}' does not exist.")
        self._access.require(who, "read", key)
        return record

    def list(self, who: Principal) -> list[RepositoryRecord]:
        return [
            r for r in self._meta.list_repositories() if self._access.allows(who, "read", r.key)
        ]

    def delete(self, who: Principal, key: str) -> None:
        self._access.require(who, "admin", None)
        if not self._meta.delete_repository(key):
            raise RepositoryNotFoundError(f"Repository '{key[:80]}' does not exist.")
        self._audit.record(who, "repository.delete", repository=key)

    def ensure(self, key: str, kind: str, description: str = "") -> RepositoryRecord:
        """Create a repository at start-up if it is missing (no audit: nobody asked)."""
        existing = self._meta.get_repository(key)
        if existing is not None:
            return existing
        try:
            return self._meta.create_repository(
                RepositoryRecord(
                    key=key, kind=kind, description=description, created_at=time.time()
                )
            )
        except RepoExistsError:  # a replica starting at the same time created it first
            created = self._meta.get_repository(key)
            assert created is not None
            return created


def _keep_masked_secrets(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A config read back from the API shows secrets as "***": keep the stored value then."""
    return {k: (old[k] if v == MASK and k in old else v) for k, v in new.items()}
