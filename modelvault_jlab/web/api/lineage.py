"""Lineage: which notebook, which user, fetched which repo@commit or wheel through the vault.

Built from the audit log (``hub.file.download``, ``pypi.file.download``) and the tokens: a kernel's
token records its kernel id and notebook path in its description (``kernel_env``), so a download
event names the notebook that made it.

``GET lineage?subject=S`` (admin) answers "who is affected" when a model or package becomes blocked:
``S`` is a Hub repo (``acme/bert``, ``models/acme/bert``, ``…@<commit>``) or a distribution file or
project name prefix. ``GET lineage?mine=1`` (any token) lists what the calling token fetched, which
is what ``%modelvault lock`` writes down.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...errors import InvalidInputError
from ...storage.records import AuditEvent, AuditQuery
from ..base import vault_auth
from .base import ApiHandler

FETCH_ACTIONS = ("hub.file.download", "pypi.file.download")
MAX_EVENTS = 5000
_REPO_TYPES = ("models/", "datasets/", "spaces/")


def subject_prefixes(subject: str) -> list[str]:
    """Audit subjects that ``subject`` may mean (Hub repos are stored as ``models/<id>@…``)."""
    subject = subject.strip()
    out = [subject]
    if "/" in subject and not subject.startswith(_REPO_TYPES):
        repo = subject if "@" in subject else subject + "@"
        out = [f"models/{repo}", f"datasets/{repo}"]
    elif subject.startswith(_REPO_TYPES) and "@" not in subject and subject.count("/") == 2:
        out = [subject + "@"]
    elif "/" not in subject:
        normal = re.sub(r"[-_.]+", "_", subject).lower()
        out = sorted({subject, normal, normal + "-"})
    return out


def fetch_json(event: AuditEvent, tokens: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One download, with the kernel/notebook behind its token when there was one."""
    token = tokens.get(event.token_id or "", {})
    out: dict[str, Any] = {
        "id": event.id,
        "ts": event.ts,
        "action": event.action,
        "user": event.actor,
        "token_id": event.token_id,
        "token_name": token.get("name"),
        "kernel_id": token.get("kernel_id"),
        "notebook": token.get("notebook"),
        "repository": event.repository,
        "subject": event.subject,
        "sha256": event.detail.get("sha256"),
        "size": event.detail.get("size"),
    }
    subject = event.subject or ""
    if event.action == "hub.file.download" and "@" in subject:
        repo, _, rest = subject.partition("@")
        commit, _, path = rest.partition("/")
        repo_type, _, repo_id = repo.partition("/")
        out.update(repo_type=repo_type.rstrip("s"), repo_id=repo_id, commit=commit, path=path)
    elif event.action == "pypi.file.download":
        out.update(filename=subject, source=event.detail.get("source"))
    return out


class LineageHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        subject = self.get_argument("subject", None)
        mine = self.get_argument("mine", "").lower() in ("1", "true", "yes")
        limit = self.limit_arg("limit", 1000, MAX_EVENTS)
        if mine:
            events = self._mine(limit)
        elif subject:
            self.require_admin()
            events = self._about(subject, limit)
        else:
            raise InvalidInputError("Give ?subject=<repo or file> or ?mine=1.")
        tokens = self._tokens({e.token_id for e in events if e.token_id})
        fetches = [fetch_json(e, tokens) for e in events]
        notebooks: dict[tuple[Any, ...], dict[str, Any]] = {}
        for f in fetches:
            key = (f["user"], f["notebook"], f["kernel_id"])
            entry = notebooks.setdefault(
                key,
                {"user": f["user"], "notebook": f["notebook"], "kernel_id": f["kernel_id"]}
                | {"fetches": 0, "last_ts": f["ts"]},
            )
            entry["fetches"] += 1
            entry["last_ts"] = max(entry["last_ts"], f["ts"])
        self.write_json(
            {"subject": subject, "fetches": fetches, "affected": list(notebooks.values())}
        )

    def _mine(self, limit: int) -> list[AuditEvent]:
        token_id = self.principal.token_id
        if token_id is None:
            raise InvalidInputError("?mine=1 needs a ModelVault token (it lists that token's).")
        out: list[AuditEvent] = []
        for action in FETCH_ACTIONS:
            before: int | None = None
            scanned = 0
            while scanned < MAX_EVENTS:
                page = self.vault.audit.query(
                    AuditQuery(
                        actor=self.principal.name, action=action, before_id=before, limit=500
                    )
                )
                out += [e for e in page if e.token_id == token_id]
                scanned += len(page)
                if len(page) < 500:
                    break
                before = page[-1].id
        out.sort(key=lambda e: e.id)
        return out[-limit:]

    def _about(self, subject: str, limit: int) -> list[AuditEvent]:
        seen: dict[int, AuditEvent] = {}
        for prefix in subject_prefixes(subject):
            for action in FETCH_ACTIONS:
                for e in self.vault.audit.query(
                    AuditQuery(action=action, subject_prefix=prefix, limit=limit)
                ):
                    seen[e.id] = e
        return sorted(seen.values(), key=lambda e: e.id)[-limit:]

    def _tokens(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for token_id in ids:
            record = self.vault.identity.get_token(token_id)
            if record is None:
                continue
            info: dict[str, Any] = {"name": record.name}
            try:
                described = json.loads(record.description or "null")
            except ValueError:
                described = None
            if isinstance(described, dict):
                info["kernel_id"] = described.get("kernel_id")
                info["notebook"] = described.get("notebook")
            out[token_id] = info
        return out
