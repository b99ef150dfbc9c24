"""Repositories: list, create, show, update, delete, and the Hub repos inside one."""

from __future__ import annotations

from typing import Any

from ...core.secrets import MASK, is_secret_setting
from ...core.urls import mask_userinfo
from ...errors import InvalidInputError
from ...storage.records import (
    RepositoryRecord,
)
from ..base import vault_auth
from .base import ApiHandler


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """Repository config as clients may see it: upstream credentials never leave the server."""
    return {
        k: MASK if is_secret_setting(k) and v else mask_userinfo(v) if isinstance(v, str) else v
        for k, v in config.items()
    }


def repository_json(record: RepositoryRecord, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": record.key,
        "kind": record.kind,
        "description": record.description,
        "public": record.public,
        "config": redacted(record.config),
        "created_at": record.created_at,
    }
    if record.kind.startswith("hf-"):
        out["hub_endpoint"] = f"{base}modelvault/hf/{record.key}"
    if record.kind.startswith("pypi-"):
        out["index_url"] = f"{base}modelvault/pypi/{record.key}/simple/"
    return out


class RepositoriesHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        records = self.vault.repositories.list(self.principal)
        base = self.public_base()
        self.write_json({"repositories": [repository_json(r, base) for r in records]})

    @vault_auth
    def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        record = self.vault.repositories.create(
            self.principal,
            str(body.get("key", "")),
            str(body.get("kind", "")),
            description=str(body.get("description", "")),
            public=bool(body.get("public", False)),
            config=body.get("config") if isinstance(body.get("config"), dict) else None,
        )
        self.write_json(repository_json(record, self.public_base()), status=201)


class RepositoryHandler(ApiHandler):
    @vault_auth
    def get(self, key: str) -> None:
        record = self.vault.repositories.get(self.principal, key)
        self.write_json(repository_json(record, self.public_base()))

    @vault_auth
    def patch(self, key: str) -> None:
        """Change description, public flag or config (e.g. ``{"config": {"offline": true}}``)."""
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        config = body.get("config")
        if config is not None and not isinstance(config, dict):
            raise InvalidInputError("'config' must be an object.")
        public = body.get("public")
        record = self.vault.repositories.update(
            self.principal,
            key,
            description=str(body["description"]) if "description" in body else None,
            public=bool(public) if public is not None else None,
            config=config,
        )
        self.write_json(repository_json(record, self.public_base()))

    @vault_auth
    def delete(self, key: str) -> None:
        self.vault.repositories.delete(self.principal, key)
        self.set_status(204)
        self.finish()


MAX_HUB_REPOS_PAGE = 1000


class HubReposHandler(ApiHandler):
    """Hub repos of an hf repository, paged by ``after`` (the last repo id seen)."""

    @vault_auth
    def get(self, key: str) -> None:
        repo_type = self.get_argument("type", None)
        limit = self.limit_arg("limit", 100, MAX_HUB_REPOS_PAGE)
        repos = self.vault.hub.list_repos(
            self.principal,
            key,
            repo_type if repo_type in ("model", "dataset", "space") else None,  # type: ignore[arg-type]
            self.get_argument("after", None),
            limit,
        )
        self.write_json(
            {
                "repos": [
                    {
                        "repo_id": r.repo_id,
                        "repo_type": r.repo_type,
                        "private": r.private,
                        "created_at": r.created_at,
                        "created_by": r.created_by,
                    }
                    for r in repos
                ],
                "next": repos[-1].repo_id if len(repos) == limit and repos else None,
            }
        )
