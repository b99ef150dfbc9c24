"""Permission records: targets (repositories + repo-id patterns + grants) and group memberships.

A target is stored as one row whose ``spec`` is its canonical JSON: targets are read all at once
(they are few, and every access decision needs all of them), never queried by field.
Memberships come from two sources: groups created in the vault (``vault``) and the groups
JupyterHub reported at a user's last sign-in (``hub``); a sign-in replaces only its own rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TargetRecord:
    name: str
    spec: str
    """Canonical JSON of the target (validated by the domain before it is stored)."""
    updated_by: str
    updated_at: float


@dataclass(frozen=True)
class MembershipRecord:
    group: str
    user: str
    source: str
    """``vault`` (managed here) or ``hub`` (reported by JupyterHub)."""


class PermissionStore(ABC):
    @abstractmethod
    def revision(self) -> int:
        """A number every change below increases (caches compare it instead of reloading)."""

    @abstractmethod
    def list_targets(self) -> list[TargetRecord]: ...

    @abstractmethod
    def put_target(self, record: TargetRecord) -> None:
        """Create or replace the target of that name."""

    @abstractmethod
    def delete_target(self, name: str) -> bool: ...

    @abstractmethod
    def list_memberships(self) -> list[MembershipRecord]: ...

    @abstractmethod
    def set_group(self, group: str, users: Iterable[str]) -> None:
        """Replace the vault-managed members of ``group``."""

    @abstractmethod
    def delete_group(self, group: str) -> bool:
        """Drop the vault-managed group; whether it had members."""

    @abstractmethod
    def set_hub_groups(self, user: str, groups: Iterable[str]) -> None:
        """Replace what JupyterHub last said ``user`` belongs to."""
