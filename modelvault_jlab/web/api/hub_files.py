"""Browsing a Hub repo for the sidebar: its files at a revision with each file's scan verdict and
policy status, the repo's licence and the repo-level policy decision.

``GET modelvault/api/repositories/{key}/hub/{type}/{ns}/{name}/files?revision=&after=&limit=``
pages through the files in path order (``after`` is the cursor of the previous page's ``next``).
The licence and the repo-level decision come with the first page only (no ``after``).
"""

from __future__ import annotations

from typing import Any

from ...core.governance.policy.engine import Decision, Violation
from ...core.governance.subject import Subject
from ...core.hub.judge import subject_of
from ...core.hub.refs import HubRef, Resolved
from ...storage.records import FileEntry
from ..base import vault_auth
from .base import ApiHandler

MAX_PAGE = 1000
_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


def violation_json(v: Violation) -> dict[str, Any]:
    return {"policy": v.policy, "action": v.action, "reason": v.reason, "evidence": v.evidence}


def decision_json(decision: Decision) -> dict[str, Any]:
    block = decision.blocking
    return {
        "status": "blocked" if block else ("warning" if decision.warnings else "allowed"),
        "violations": [violation_json(v) for v in decision.violations],
        "waived": [violation_json(v) for v in decision.waived],
    }


class HubFilesHandler(ApiHandler):
    """Files of a Hub repo at a revision, with verdicts, licence and policy decision."""

    @vault_auth
    async def get(self, key: str, repo_type: str, namespace: str, name: str) -> None:
        revision = self.get_argument("revision", None) or None
        after = self.get_argument("after", None) or None
        limit = self.limit_arg("limit", 500, MAX_PAGE)
        ref = HubRef.parse(key, _TYPES.get(repo_type, repo_type), f"{namespace}/{name}")
        resolved = await self.vault.hub.resolve(self.principal, ref, revision)
        page = self.vault.hub.tree(resolved, "", recursive=True, cursor=after, limit=limit)
        subject = subject_of(key, resolved)
        files = [
            await self._file_json(subject, resolved, e.file)
            for e in page.entries
            if e.file is not None
        ]
        out: dict[str, Any] = {
            "repository": key,
            "repo_id": resolved.repo.repo_id,
            "repo_type": resolved.repo.repo_type,
            "revision": resolved.revision,
            "commit": resolved.commit.sha,
            "source": resolved.source.key,
            "warning": resolved.warning,
            "files": files,
            "next": page.next_cursor,
        }
        if after is None:
            out.update(await self._repo_summary(subject, resolved))
        self.write_json(out)

    async def _repo_summary(self, subject: Subject, resolved: Resolved) -> dict[str, Any]:
        judged = await self.vault.judge.repo(subject, resolved)
        return {
            "total": self.vault.hub.count_files(resolved),
            "license": judged.licence.describe() if not judged.licence.unlicensed else None,
            "decision": decision_json(judged.decision),
        }

    async def _file_json(
        self, subject: Subject, resolved: Resolved, entry: FileEntry
    ) -> dict[str, Any]:
        judged = await self.vault.judge.file(subject, resolved, entry, scan=False)
        scan = judged.scan
        out: dict[str, Any] = {
            "path": entry.path,
            "size": entry.size,
            "sha256": scan.sha256 if scan is not None else entry.sha256,
            "lfs": entry.lfs,
            "verdict": scan.verdict if scan is not None else None,
        }
        if scan is None:
            out.update(status="not-scanned", violations=[], waived=[])
            return out
        summary = decision_json(judged.decision)
        if summary["status"] == "allowed":
            summary["status"] = "waived" if judged.decision.waived else "clean"
        out.update(summary)
        return out
