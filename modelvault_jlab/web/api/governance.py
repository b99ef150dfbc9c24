"""Governance: global policies, waivers, a blob's scan, and the violations view."""

from __future__ import annotations

from typing import Any

from ...core.governance.policy.engine import Policy
from ...errors import InvalidInputError, NotFoundError
from ...ids import validate_sha256
from ...storage.records import (
    AuditQuery,
    ScanRecord,
    WaiverRecord,
)
from ..base import vault_auth
from .audit import audit_json
from .base import ApiHandler


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


class PolicyPreviewHandler(ApiHandler):
    """A dry run of ``PUT policies``: what the proposed list would block among the files the
    vault holds, and what it would stop blocking. Nothing is saved."""

    @vault_auth
    async def post(self) -> None:
        body = self.json_body()
        raw = body.get("policies") if isinstance(body, dict) else body
        preview = await self.vault.policy_preview.preview(self.principal, raw)
        self.write_json(preview.to_json())


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
