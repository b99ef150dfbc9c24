"""The JSON API under ``{base_url}modelvault/api/``: what the sidebar, magics and CLI call.

Inside Jupyter, the logged-in Jupyter user administers the vault (see ``extension.py``); everywhere,
a ModelVault token in ``Authorization: Bearer`` works too.
"""

from __future__ import annotations

from typing import Any

from ..core.governance.policy.engine import Policy
from ..core.secrets import MASK, is_secret_setting
from ..core.urls import mask_userinfo
from ..errors import InvalidInputError, NotFoundError
from ..ids import validate_sha256
from ..storage.records import (
    AuditEvent,
    AuditQuery,
    RepositoryRecord,
    ScanRecord,
    TokenRecord,
    WaiverRecord,
)
from .base import VaultHandler, vault_auth


class ApiHandler(VaultHandler):
    ambient_allowed = True
    anonymous_allowed = False

    def authorize(self) -> None:
        if self.principal.is_anonymous and not self.anonymous_allowed:
            self.vault.access.require(self.principal, "read", None)

    def require_admin(self) -> None:
        self.vault.access.require(self.principal, "admin", None)

    def limit_arg(self, name: str, default: int, maximum: int) -> int:
        """A page size from the query, clamped to ``1..maximum``: the storage never sees a
        client's number (SQLite reads a negative LIMIT as "no limit", a huge one overflows)."""
        return min(max(self.int_arg(name, default), 1), maximum)

    def id_arg(self, name: str) -> int | None:
        """A row id from the query (a paging cursor), None when absent or 0."""
        value = self.int_arg(name, 0)
        if not 0 <= value <= MAX_ROW_ID:
            raise InvalidInputError(f"Query parameter {name!r} must be between 0 and {MAX_ROW_ID}.")
        return value or None


MAX_ROW_ID = 2**63 - 1
"""The largest row id SQL stores (a signed 64-bit integer)."""


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


def token_json(record: TokenRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "user": record.created_by,
        "scope": record.scopes[0],
        "repositories": list(record.repositories),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "parent": record.parent_id,
    }


def audit_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "ts": event.ts,
        "actor": event.actor,
        "token_id": event.token_id,
        "action": event.action,
        "repository": event.repository,
        "subject": event.subject,
        "detail": event.detail,
        "remote_addr": event.remote_addr,
    }


class InfoHandler(ApiHandler):
    """Server name and version, for discovery and the frontend's version handshake."""

    anonymous_allowed = True

    @vault_auth
    def get(self) -> None:
        p = self.principal
        self.write_json(
            {
                "name": "ModelVault",
                "version": self.context.version,
                "user": None
                if p.is_anonymous
                else {"name": p.name, "admin": p.is_admin, "scope": p.scope},
            }
        )


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


class TokensHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        self.require_admin()
        self.write_json({"tokens": [token_json(t) for t in self.vault.identity.list_tokens()]})

    @vault_auth
    def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        expires = body.get("expires_in_seconds")
        repositories = body.get("repositories") or []
        if not isinstance(repositories, list):
            raise InvalidInputError("'repositories' must be a list of repository keys.")
        fields: dict[str, Any] = {
            "name": str(body.get("name", "")),
            "scope": body.get("scope", "read"),
            "repositories": [str(r) for r in repositories],
            "expires_in_seconds": expires,  # checked by the identity service (finite, bounded)
            # kernel tokens minted by a Jupyter server record their kernel and notebook here
            "description": str(body.get("description", ""))[:2000],
        }
        if self.principal.is_admin:
            issued = self.vault.identity.issue_token(
                created_by=str(body.get("user") or self.principal.name), **fields
            )
        else:
            # Any other token may mint a narrower child of itself (per-kernel tokens).
            if self.principal.is_anonymous:
                self.vault.access.require(self.principal, "read", None)  # 401 with the hint
            issued = self.vault.identity.issue_child_token(self.principal, **fields)
        self.vault.audit.record(
            self.principal,
            "token.create",
            subject=issued.record.id,
            scope=issued.record.scopes[0],
            parent=issued.record.parent_id,
        )
        self.write_json({"token": issued.secret, **token_json(issued.record)}, status=201)


class TokenHandler(ApiHandler):
    @vault_auth
    def delete(self, token_id: str) -> None:
        if self.principal.is_admin:
            self.vault.identity.revoke(token_id)
        else:
            self.vault.identity.revoke_child(self.principal, token_id)
        self.vault.audit.record(self.principal, "token.revoke", subject=token_id)
        self.set_status(204)
        self.finish()


class AuditHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        self.require_admin()
        query = AuditQuery(
            actor=self.get_argument("actor", None),
            action=self.get_argument("action", None),
            repository=self.get_argument("repository", None),
            subject_prefix=self.get_argument("subject", None),
            before_id=self.id_arg("before"),
            limit=self.limit_arg("limit", 100, 1000),
        )
        events = self.vault.audit.query(query)
        self.write_json(
            {
                "events": [audit_json(e) for e in events],
                "next": events[-1].id if len(events) == query.limit and events else None,
            }
        )


def waiver_json(w: WaiverRecord) -> dict[str, Any]:
    return {
        "id": w.id,
        "policy": w.policy,
        "repository": w.repository,
        "repo_type": w.repo_type,
        "repo_id": w.repo_id,
        "commit": w.commit,
        "sha256": w.sha256,
        "justification": w.justification,
        "created_by": w.created_by,
        "created_at": w.created_at,
        "expires_at": w.expires_at,
        "revoked_at": w.revoked_at,
    }


class PoliciesHandler(ApiHandler):
    """Global policies (repositories override them by name in their config), each with a
    ``summary`` of what it does under the precedence rule."""

    @vault_auth
    def get(self) -> None:
        gate = self.vault.gate
        self.write_json(
            {
                "policies": [policy_json(p) for p in gate.global_policies()]
                + [switched_off_json(p) for p in gate.switched_off_defaults()]
            }
        )

    @vault_auth
    def put(self) -> None:
        body = self.json_body()
        raw = body.get("policies") if isinstance(body, dict) else body
        policies = self.vault.gate.set_global_policies(self.principal, raw)
        self.write_json({"policies": [policy_json(p) for p in policies]})


def policy_json(p: Policy) -> dict[str, Any]:
    return {**p.to_dict(), "summary": p.summary()}


def switched_off_json(p: Policy) -> dict[str, Any]:
    """A default policy an admin switched off, listed so that GET then PUT keeps it off."""
    return {"name": p.name, "kind": p.kind, "enabled": False, "summary": "switched off"}


class WaiversHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        inactive = self.get_argument("all", "false").lower() in ("1", "true")
        waivers = self.vault.gate.waivers(self.principal, include_inactive=inactive)
        self.write_json({"waivers": [waiver_json(w) for w in waivers]})

    @vault_auth
    def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        self.write_json(waiver_json(self.vault.gate.grant_waiver(self.principal, body)), status=201)


class WaiverHandler(ApiHandler):
    @vault_auth
    def delete(self, waiver_id: str) -> None:
        self.vault.gate.revoke_waiver(self.principal, int(waiver_id))
        self.set_status(204)
        self.finish()


class ScanHandler(ApiHandler):
    """A blob's scan report; POST re-scans it (admin)."""

    @vault_auth
    def get(self, sha256: str) -> None:
        self.vault.access.require(self.principal, "read", None)
        record = self.vault.gate.scan_report(validate_sha256(sha256))
        if record is None:
            raise NotFoundError(f"Blob {sha256} has not been scanned.")
        self.write_json(scan_json(record))

    @vault_auth
    async def post(self, sha256: str) -> None:
        self.require_admin()
        sha = validate_sha256(sha256)
        record = await self.vault.gate.scan_async(sha, None, force=True)
        self.vault.audit.record(self.principal, "scan.rescan", subject=sha, verdict=record.verdict)
        self.write_json(scan_json(record))


def scan_json(record: ScanRecord) -> dict[str, Any]:
    return {
        "sha256": record.sha256,
        "verdict": record.verdict,
        "scanner_version": record.scanner_version,
        "scanned_at": record.scanned_at,
        "report": record.report,
    }


class ViolationsHandler(ApiHandler):
    """Recent blocks and warnings (from the audit log) and every flagged blob."""

    @vault_auth
    def get(self) -> None:
        self.vault.access.require(self.principal, "read", None)
        limit = self.limit_arg("limit", 200, 1000)
        events = [
            audit_json(e)
            for action in ("policy.block", "policy.warn")
            for e in self.vault.audit.query(AuditQuery(action=action, limit=limit))
        ]
        events.sort(key=lambda e: -int(e["id"]))
        flagged = self.vault.gate.flagged(limit)
        self.write_json(
            {"events": events[:limit], "flagged_blobs": [scan_json(r) for r in flagged]}
        )
