"""A dry run of a global policy change: what the proposed policies would block, and what they
would stop blocking, among what the vault already holds. Nothing is saved, nothing is scanned
and no upstream is asked.

Each Hub repo of each hf repository is judged at ``main`` as the vault knows it, under the
current and under the proposed policies (each with the repository's own overrides and the
active waivers applied): the licence of the model card the vault holds, custom code
(``*.py`` files), and the stored scan verdict of every file whose content the vault holds. Base
models' licences and PyPI files are not part of the preview. The work is bounded:
:data:`MAX_HUB_REPOS` repos, :data:`MAX_FILES` file entries and :data:`MAX_ITEMS` reported
changes; ``truncated`` says a bound was reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..storage.meta import MetadataStore
from ..storage.records import HubRepoRecord, RepositoryRecord
from .governance.gate import Gate
from .governance.policy.engine import (
    Decision,
    Policy,
    Violation,
    code_violations,
    effective_policies,
    license_violations,
    scan_violations,
)
from .governance.subject import Subject
from .hub.main_card import MainCards
from .hub.mirror import HubMirror
from .identity import Principal

MAX_HUB_REPOS = 500
MAX_FILES = 20_000
MAX_ITEMS = 500
_PAGE = 1000

Change = Literal["newly-blocked", "still-blocked", "unblocked"]


@dataclass(frozen=True)
class PreviewItem:
    change: Change
    repository: str
    repo_type: str
    repo_id: str
    commit: str
    path: str | None
    """``None``: a repo-level decision (licence, custom code)."""
    policy: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "repository": self.repository,
            "repo_type": self.repo_type,
            "repo_id": self.repo_id,
            "commit": self.commit,
            "path": self.path,
            "policy": self.policy,
            "reason": self.reason,
        }


@dataclass
class PolicyPreview:
    policies: list[Policy]
    disabled: list[str]
    items: list[PreviewItem] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"newly-blocked": 0, "still-blocked": 0, "unblocked": 0}
    )
    repos_checked: int = 0
    files_checked: int = 0
    truncated: bool = False

    def add(self, item: PreviewItem) -> None:
        self.counts[item.change] += 1
        if len(self.items) < MAX_ITEMS:
            self.items.append(item)
        else:
            self.truncated = True

    def to_json(self) -> dict[str, Any]:
        return {
            "policies": [{**p.to_dict(), "summary": p.summary()} for p in self.policies],
            "disabled": self.disabled,
            "counts": self.counts,
            "items": [i.to_json() for i in self.items],
            "checked": {"repos": self.repos_checked, "files": self.files_checked},
            "truncated": self.truncated,
        }


class PolicyPreviewer:
    def __init__(self, meta: MetadataStore, gate: Gate, cards: MainCards, mirror: HubMirror):
        self._meta = meta
        self._gate = gate
        self._cards = cards
        self._mirror = mirror

    async def preview(self, who: Principal, raw: object) -> PolicyPreview:
        """What replacing the global policies with ``raw`` would change (admin only).

        Raises:
            InvalidInputError: ``raw`` would be refused by ``PUT policies``.
            PermissionDeniedError: ``who`` is not an admin.
        """
        proposed, disabled = self._gate.check_global_policies(who, raw)
        result = PolicyPreview(proposed, disabled)
        for record in self._meta.list_repositories():
            if record.kind not in ("hf-local", "hf-remote"):
                continue
            overrides = record.config.get("policies") or []
            now = self._gate.policies_for(record)
            then = effective_policies(proposed, overrides, record.kind)
            for hub_repo in self._meta.list_hub_repos(
                record.key, None, None, MAX_HUB_REPOS - result.repos_checked + 1
            ):
                if result.repos_checked >= MAX_HUB_REPOS or result.files_checked >= MAX_FILES:
                    result.truncated = True
                    return result
                result.repos_checked += 1
                await self._repo(result, record, hub_repo, now, then)
        return result

    async def _repo(
        self,
        result: PolicyPreview,
        record: RepositoryRecord,
        hub_repo: HubRepoRecord,
        now: list[Policy],
        then: list[Policy],
    ) -> None:
        card = await self._cards.read(record, hub_repo)
        if card.commit is None:
            return
        subject = Subject(record.key, record, hub_repo.repo_type, hub_repo.repo_id, card.commit)
        what = f"{hub_repo.repo_type} {hub_repo.repo_id}"
        code: list[str] = []
        after: str | None = None
        while True:
            page = self._meta.list_files(hub_repo.id, card.commit, "", after, _PAGE)
            for entry in page:
                if result.files_checked >= MAX_FILES:
                    result.truncated = True
                    break
                result.files_checked += 1
                if entry.path.endswith(".py"):
                    code.append(entry.path)
                sha = entry.sha256 if record.kind == "hf-local" else self._mirror.cached_blob(entry)
                scan = None if sha is None else self._meta.get_scan(sha)
                if scan is None:
                    continue
                findings = scan.report.get("findings") or []
                was, would = (
                    self._gate.waive(
                        subject,
                        scan.sha256,
                        scan_violations(policies, scan.verdict, findings, entry.path),
                    )
                    for policies in (now, then)
                )
                _compare(result, subject, entry.path, was, would)
            if len(page) < _PAGE or result.files_checked >= MAX_FILES:
                break
            after = page[-1].path

        def repo_level(policies: list[Policy]) -> Decision:
            violations: list[Violation] = []
            if card.licence is not None:
                violations += license_violations(policies, card.licence, what)
            violations += code_violations(policies, code, what)
            return self._gate.waive(subject, None, violations)

        _compare(result, subject, None, repo_level(now), repo_level(then))


def _compare(
    result: PolicyPreview, subject: Subject, path: str | None, now: Decision, then: Decision
) -> None:
    before, after = now.blocking, then.blocking
    if after is not None:
        change: Change = "newly-blocked" if before is None else "still-blocked"
        shown = after
    elif before is not None:
        change, shown = "unblocked", before
    else:
        return
    result.add(
        PreviewItem(
            change,
            subject.repository,
            subject.repo_type,
            subject.repo_id,
            subject.commit,
            path,
            shown.policy,
            shown.reason,
        )
    )
