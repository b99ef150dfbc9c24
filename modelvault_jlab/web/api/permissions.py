"""Admin API of permission targets and vault groups (``modelvault/api/permissions/...``)."""

from __future__ import annotations

from typing import Any

from ...core.permissions import PermissionTarget
from ...errors import InvalidInputError
from ..base import vault_auth
from .base import ApiHandler

_NAME = r"([A-Za-z0-9][A-Za-z0-9._-]{0,63})"


def _body(handler: ApiHandler) -> dict[str, Any]:
    body = handler.json_body()
    if not isinstance(body, dict):
        raise InvalidInputError("Expected a JSON object.")
    return body


def _target_json(target: PermissionTarget) -> dict[str, Any]:
    return target.to_json()


class TargetsHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        targets = self.vault.permissions.list_targets(self.principal)
        self.write_json({"targets": [_target_json(t) for t in targets]})


class TargetHandler(ApiHandler):
    @vault_auth
    def get(self, name: str) -> None:
        self.write_json(_target_json(self.vault.permissions.get_target(self.principal, name)))

    @vault_auth
    def put(self, name: str) -> None:
        target = self.vault.permissions.put_target(self.principal, name, _body(self))
        self.write_json(_target_json(target))

    @vault_auth
    def delete(self, name: str) -> None:
        self.vault.permissions.delete_target(self.principal, name)
        self.set_status(204)
        self.finish()


class GroupsHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        groups = self.vault.permissions.groups(self.principal)
        self.write_json(
            {"groups": [{"name": name, **members} for name, members in sorted(groups.items())]}
        )


class GroupHandler(ApiHandler):
    @vault_auth
    def put(self, name: str) -> None:
        members = self.vault.permissions.set_group(self.principal, name, _body(self).get("members"))
        self.write_json({"name": name, "members": members})

    @vault_auth
    def delete(self, name: str) -> None:
        self.vault.permissions.delete_group(self.principal, name)
        self.set_status(204)
        self.finish()


ROUTES: list[tuple[str, type[ApiHandler]]] = [
    (r"modelvault/api/permissions/targets", TargetsHandler),
    (rf"modelvault/api/permissions/targets/{_NAME}", TargetHandler),
    (r"modelvault/api/permissions/groups", GroupsHandler),
    (rf"modelvault/api/permissions/groups/{_NAME}", GroupHandler),
]
