"""The one judge of Hub files: every entry point (downloads, the sidebar's browse API and so the
magics, bundle pinning) asks it, so they cannot disagree about the same file.

A decision about a file combines

- the **repo-level** decision at the commit: the licence of the model card, custom code, and the
  licence of every ``base_model`` the card names that the vault can see (lineage: a fine-tune is
  also under its base model's licence), judged once per commit, policy epoch and repository
  config;
- the **file-level** decision: the scan verdict of the file's content, when the vault holds it
  (a mirrored file the vault has not cached yet is scanned while it streams through on its first
  download, see :meth:`HubService.open`).

Bytes of a card are parsed off the event loop with bounded size and node counts
(:mod:`.cards`); a hostile card is a licence violation with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from ...errors import VaultError
from ...ids import Sha256
from ...storage.meta import GovernanceStore
from ...storage.records import FileEntry, ScanRecord
from ..governance.gate import Gate
from ..governance.policy.engine import Decision
from ..governance.policy.licenses import LicenseInfo, license_of_card, unreadable
from ..governance.subject import Subject
from ..identity import SYSTEM, Principal
from .cards import Card
from .read import HubService
from .refs import HubRef, Resolved

MAX_BASE_MODELS = 4
MAX_CACHED = 4096


@dataclass(frozen=True)
class RepoJudgement:
    """The repo-level decision at a commit, with what it was made from."""

    decision: Decision
    licence: LicenseInfo
    base_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileJudgement:
    decision: Decision
    scan: ScanRecord | None
    """``None``: the vault does not hold the content yet (not scanned)."""


def subject_of(requested: str, resolved: Resolved) -> Subject:
    """What a decision is about: ``requested`` is the repository key the client used."""
    return Subject(
        requested,
        resolved.source,
        resolved.repo.repo_type,
        resolved.repo.repo_id,
        resolved.commit.sha,
    )


class Judge:
    def __init__(self, hub: HubService, gate: Gate, meta: GovernanceStore) -> None:
        self._hub = hub
        self._gate = gate
        self._meta = meta
        self._cache: dict[tuple[str, ...], RepoJudgement] = {}

    # -- the decisions --
    async def admit(
        self, who: Principal, requested: str, resolved: Resolved, entry: FileEntry
    ) -> list[str]:
        """Serving ``entry``: raise PolicyError to block (audited), return warnings.

        The file's content is scanned now if the vault holds it and never scanned it.
        """
        return await self.admit_content(
            who, requested, resolved, entry, self._hub.content_sha(resolved, entry)
        )

    async def admit_content(
        self,
        who: Principal,
        requested: str,
        resolved: Resolved,
        entry: FileEntry,
        sha: Sha256 | None,
    ) -> list[str]:
        """:meth:`admit` with the content's sha256 already looked up (``None``: not held)."""
        subject = subject_of(requested, resolved)
        decision = await self.repo_decision(subject, resolved)
        judged = await self.file_content(subject, entry, sha, scan=True)
        return self._gate.enforce(who, subject, entry.path, decision.merge(judged.decision))

    async def admit_repo(self, who: Principal, requested: str, resolved: Resolved) -> list[str]:
        """The repo-level decision alone (a Xet read token): raise PolicyError when the whole
        repo is blocked at this commit (audited), return warnings."""
        subject = subject_of(requested, resolved)
        decision = await self.repo_decision(subject, resolved)
        return self._gate.enforce(who, subject, "", decision)

    async def repo(self, subject: Subject, resolved: Resolved) -> RepoJudgement:
        """Repo-level decision with the base models' licence decisions merged in."""
        judged = await self._cached("repo", subject, resolved, self._judge_repo)
        decision = judged.decision
        for base_id in judged.base_models:
            decision = decision.merge(await self._base_model_decision(subject, base_id))
        return replace(judged, decision=decision)

    async def repo_decision(self, subject: Subject, resolved: Resolved) -> Decision:
        return (await self.repo(subject, resolved)).decision

    async def file(
        self, subject: Subject, resolved: Resolved, entry: FileEntry, *, scan: bool
    ) -> FileJudgement:
        """File-level decision. ``scan``: scan the content now if it never was (downloads,
        bundles); otherwise use the stored verdict only (browsing)."""
        return await self.file_content(
            subject, entry, self._hub.content_sha(resolved, entry), scan=scan
        )

    async def file_content(
        self, subject: Subject, entry: FileEntry, sha: Sha256 | None, *, scan: bool
    ) -> FileJudgement:
        """:meth:`file` with the content's sha256 already looked up (``None``: not held)."""
        if sha is None:
            return FileJudgement(Decision(), None)
        if scan:
            record: ScanRecord | None = await self._gate.scan_async(sha, entry.path)
        else:
            record = self._meta.get_scan(sha)
        if record is None:
            return FileJudgement(Decision(), None)
        return FileJudgement(self._gate.file_decision(subject, entry, record), record)

    # -- repo level --
    async def _judge_repo(self, subject: Subject, resolved: Resolved) -> RepoJudgement:
        card = await self._hub.card(resolved)
        licence = _licence(card)
        paths = [f.path for f in self._hub.files(resolved, limit=100_000)]
        decision = self._gate.repo_decision(subject, licence, paths)
        return RepoJudgement(decision, licence, tuple(_base_models(card.data)))

    async def _base_model_decision(self, subject: Subject, base_id: str) -> Decision:
        """A model's ``base_model`` must pass the licence policies too, when the vault can see
        it (same repository, or its upstream). An unknown base model is not a violation.
        Resolved on every request (its branch moves), judged once per base commit."""
        try:
            base = await self._hub.resolve(
                SYSTEM, HubRef.parse(subject.repository, "model", base_id), None
            )
        except VaultError:
            return Decision()
        base_subject = Subject(
            subject.repository, base.source, "model", base.repo.repo_id, base.commit.sha
        )

        async def judge(s: Subject, r: Resolved) -> RepoJudgement:
            licence = _licence(await self._hub.card(r))
            decision = self._gate.repo_decision(s, licence, [])
            licence_only = Decision(
                tuple(
                    replace(v, reason=f"its base model {v.reason}")
                    for v in decision.violations
                    if "license" in v.evidence  # licence findings only, not custom code
                ),
                decision.waived,
            )
            return RepoJudgement(licence_only, licence)

        return (await self._cached("base", base_subject, base, judge)).decision

    async def _cached(
        self,
        kind: str,
        subject: Subject,
        resolved: Resolved,
        judge: Callable[[Subject, Resolved], Awaitable[RepoJudgement]],
    ) -> RepoJudgement:
        """A repo-level judgement, made once per key.

        A commit's card and files never change; policies and waivers do. Everything else a
        decision reads is in the key and comes from the metadata store — global policies and
        waivers through their epoch, the repository's own policies from its record, waivers
        scoped to the repository asked (a virtual one) — so a change made through any replica
        takes effect on all of them at their next request.
        """
        key = (
            kind,
            subject.repository,
            subject.source.key,
            str(resolved.repo.id),
            subject.commit,
            self._gate.epoch(),
            json.dumps(subject.source.config.get("policies"), sort_keys=True),
        )
        cached = self._cache.get(key)
        if cached is None:
            cached = await judge(subject, resolved)
            if not cached.decision.waived:  # a waiver expires with no epoch change: not cached
                if len(self._cache) > MAX_CACHED:
                    self._cache.clear()
                self._cache[key] = cached
        return cached


def _licence(card: Card) -> LicenseInfo:
    return unreadable(card.error) if card.error else license_of_card(card.data)


def _base_models(card: dict[str, Any]) -> list[str]:
    raw = card.get("base_model")
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [v for v in values if isinstance(v, str) and v.count("/") == 1][:MAX_BASE_MODELS]
