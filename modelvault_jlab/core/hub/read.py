"""Reading Hub repos: resolve revisions across local, remote and virtual repositories, list
files, open content, and apply the gate before anything is served.

A commit's files are its parent's files plus its changes, so resolving a file at any commit is one
indexed lookup. Writing lives in :mod:`.write`, tree listing in :mod:`.tree`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, BinaryIO

from ...errors import (
    EntryNotFoundError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnsupportedOperationError,
)
from ...ids import (
    CommitSha,
    RepositoryKey,
    RepoType,
    Sha256,
    is_commit_sha,
    validate_repo_path,
    validate_revision,
)
from ...storage.meta import MetadataStore
from ...storage.records import (
    BlobInfo,
    CommitRecord,
    FileEntry,
    HubRepoRecord,
    RefRecord,
    RepositoryRecord,
)
from ..audit import AuditLog
from ..content import ContentStore
from ..governance.gate import Gate
from ..governance.subject import Subject
from ..identity import SYSTEM, AccessPolicy, Action, Principal
from ..observer import NO_OBSERVER, Observer
from ..streaming import ContentStream
from .cards import MAX_CARD_BYTES, Card, parse_card
from .mirror import HubMirror
from .refs import (
    DEFAULT_BRANCH,
    HubRef,
    Resolved,
    is_bundle_ref,
    ref_of,
    subject_of_repo,
)
from .tree import TREE_PAGE_SIZE, TreeEntry, TreePage, list_tree, paths_info


def _now() -> float:
    return time.time()


class HubService:
    """Hub-compatible repos in ``hf-local`` repositories."""

    observer: Observer = NO_OBSERVER

    def __init__(
        self,
        meta: MetadataStore,
        content: ContentStore,
        access: AccessPolicy,
        audit: AuditLog,
        mirror: HubMirror | None = None,
        gate: Gate | None = None,
        clock: Callable[[], float] = _now,
    ) -> None:
        self._meta = meta
        self._content = content
        self._access = access
        self._audit = audit
        self._mirror = mirror
        self._gate = gate
        self._clock = clock

    # -- repositories and repos --
    def repository_for(self, who: Principal, key: str, action: Action) -> RepositoryRecord:
        record = self._meta.get_repository(key)
        if record is None:
            if who.is_anonymous:  # anonymous callers learn nothing about what exists
                self._access.require(who, "read", key)
            raise RepoNotFoundError(f"Repository '{key[:80]}' does not exist in this vault.")
        self._access.require(who, action, key)
        if action != "read" and record.kind != "hf-local":
            raise UnsupportedOperationError(
                f"Repository '{key}' is {record.kind}: uploads go to an hf-local repository."
            )
        if not record.kind.startswith("hf-"):
            raise RepoNotFoundError(f"Repository '{key}' is not a Hugging Face repository.")
        return record

    def repo_for(self, who: Principal, ref: HubRef, action: Action) -> HubRepoRecord:
        self.repository_for(who, ref.repository, action)
        self.require_repo(who, action, ref)  # permission targets
        repo = self._meta.get_hub_repo(ref.repository, ref.repo_type, ref.repo_id)
        if repo is None:
            raise RepoNotFoundError(f"Repository Not Found: {ref.repo_type} {ref.repo_id}.")
        return repo

    def require_repo(self, who: Principal, action: Action, ref: HubRef) -> None:
        """The repo-level check (permission targets' repo-id patterns) alone."""
        self._access.require(who, action, ref.repository, ref.repo_id)

    def get_repo(self, who: Principal, ref: HubRef) -> HubRepoRecord:
        return self.repo_for(who, ref, "read")

    def list_repos(
        self,
        who: Principal,
        repository: str,
        repo_type: RepoType | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[HubRepoRecord]:
        self.repository_for(who, repository, "read")
        size = min(max(limit, 1), 1000)
        # A user sees only the repos their permission targets let them read; a page is filled
        # from further rows, so a short page still means the last one.
        shown: list[HubRepoRecord] = []
        while len(shown) < size:
            page = self._meta.list_hub_repos(repository, repo_type, after, size)
            shown += [r for r in page if self._access.allows(who, "read", repository, r.repo_id)]
            if len(page) < size:
                break
            after = page[-1].repo_id
        return shown[:size]

    # -- revisions --
    async def resolve(self, who: Principal, ref: HubRef, revision: str | None) -> Resolved:
        """Resolve a branch, tag, ``refs/pr/N`` or full commit sha.

        A virtual repository asks its members in order (local before remote); the first member
        that has the repo answers, even if it then lacks the revision. Only members the caller
        may read are asked: a virtual repository never widens access (a public virtual one
        shows only its public members to anonymous callers).

        Raises:
            RepoNotFoundError, RevisionNotFoundError, InvalidRevisionError, UpstreamError.
        """
        record = self.repository_for(who, ref.repository, "read")
        self.require_repo(who, "read", ref)  # permission targets
        rev = validate_revision(revision or DEFAULT_BRANCH)
        if record.kind != "hf-virtual":
            return await self._resolve_in(record, ref, rev)
        for member in self._members(record):
            if not self._access.allows(who, "read", member.key, ref.repo_id):
                continue
            try:
                return await self._resolve_in(
                    member, replace(ref, repository=RepositoryKey(member.key)), rev
                )
            except RepoNotFoundError:
                continue
        raise RepoNotFoundError(f"Repository Not Found: {ref.repo_type} {ref.repo_id}.")

    def _members(self, record: RepositoryRecord) -> list[RepositoryRecord]:
        members = []
        for key in record.config.get("members", []):
            member = self._meta.get_repository(str(key))
            if member is not None and member.kind in ("hf-local", "hf-remote"):
                members.append(member)
        return members

    async def _resolve_in(self, record: RepositoryRecord, ref: HubRef, rev: str) -> Resolved:
        if record.kind == "hf-remote":
            if self._mirror is None:
                raise UnsupportedOperationError(
                    "Remote repositories are not enabled on this server."
                )
            found = await self._mirror.resolve(record, ref.repo_type, ref.repo_id, rev)
            return Resolved(found.repo, found.commit, rev, record, found.warning)
        repo = self._meta.get_hub_repo(record.key, ref.repo_type, ref.repo_id)
        if repo is None:
            raise RepoNotFoundError(f"Repository Not Found: {ref.repo_type} {ref.repo_id}.")
        return Resolved(repo, self.commit_for(repo, rev), rev, record)

    def commit_for(self, repo: HubRepoRecord, rev: str) -> CommitRecord:
        sha: str | None = None
        if is_commit_sha(rev):
            sha = rev
        else:
            kind, name = ref_of(rev)
            bare = not rev.startswith("refs/")
            if bare and is_bundle_ref(name):
                # A bundle pin is its tag and nothing else: a branch of that name (made before
                # the namespace was reserved) never shadows it.
                kind = "tag"
            # A bare name is a branch first, then a tag, as on the Hub; creating a ref whose name
            # exists as the other kind is refused, so the order only matters for old data.
            ref = self._meta.get_ref(repo.id, kind, name)
            if ref is None and kind == "branch" and bare:
                ref = self._meta.get_ref(repo.id, "tag", name)
            sha = ref.commit if ref else None
        commit = self._meta.get_commit(repo.id, CommitSha(sha)) if sha else None
        if commit is None:
            raise RevisionNotFoundError(
                f"Invalid rev id: {rev} (no such branch, tag or commit in {repo.repo_id})."
            )
        return commit

    # -- reading --
    def file(self, resolved: Resolved, path: str) -> FileEntry:
        validate_repo_path(path)
        entry = self._meta.get_file(resolved.repo.id, resolved.commit.sha, path)
        if entry is None:
            raise EntryNotFoundError(
                f"Entry not found: {path} in {resolved.repo.repo_id}@{resolved.revision}.",
                commit=resolved.commit.sha,
            )
        return entry

    def content_sha(self, resolved: Resolved, entry: FileEntry) -> Sha256 | None:
        """The sha256 of a file's content when the vault holds it (a mirrored file: once cached)."""
        if resolved.source.kind != "hf-remote":
            return entry.sha256
        assert self._mirror is not None
        return self._mirror.cached_blob(entry)

    async def open(
        self, who: Principal, requested: str, resolved: Resolved, entry: FileEntry
    ) -> ContentStream:
        """The bytes of ``entry``: from the store, or streamed through from the upstream.

        A streamed-through file is verified and scanned before its last byte goes out; if policy
        blocks it then, every client of that transfer is cut off and the blob stays quarantined.

        Raises:
            OfflineModeError, UpstreamUnavailableError, EntryNotFoundError: nothing was sent yet.
        """
        return await self.open_content(
            who, requested, resolved, entry, self.content_sha(resolved, entry)
        )

    async def open_content(
        self,
        who: Principal,
        requested: str,
        resolved: Resolved,
        entry: FileEntry,
        sha: Sha256 | None,
    ) -> ContentStream:
        """:meth:`open` with the content's sha256 already looked up (``None``: not held)."""
        if resolved.source.kind == "hf-remote":
            self.observer.cache_lookup(resolved.source.key, sha is not None)
        if sha is not None:
            if resolved.source.kind == "hf-remote" and self._mirror is not None:
                self._mirror.cache.touched(resolved.source.key, sha)  # LRU of cache quotas
            return ContentStream(self._content.blobs, sha, None)
        assert self._mirror is not None

        async def admit_blob(info: BlobInfo, source: Callable[[], BinaryIO]) -> None:
            if self._gate is None:
                return
            subject = Subject(
                requested,
                resolved.source,
                resolved.repo.repo_type,
                resolved.repo.repo_id,
                resolved.commit.sha,
            )
            scan = await self._gate.scan_async(info.sha256, entry.path, source=source)
            self._gate.enforce(
                who, subject, entry.path, self._gate.file_decision(subject, entry, scan)
            )

        flight = await self._mirror.open_stream(
            resolved.source, resolved.repo, resolved.commit.sha, entry, admit_blob
        )
        return ContentStream(self._content.blobs, None, flight)

    async def card(self, resolved: Resolved) -> Card:
        """The YAML front matter of the repo's README.md at this commit (empty when there is
        none), parsed in a worker thread with bounded size and node counts."""
        entry = self._meta.get_file(resolved.repo.id, resolved.commit.sha, "README.md")
        if entry is None:
            return Card()
        if entry.size > MAX_CARD_BYTES:
            return Card(error=f"the model card is larger than {MAX_CARD_BYTES} bytes")
        stream = await self.open(SYSTEM, resolved.source.key, resolved, entry)
        text = b"".join([c async for c in stream.chunks(0, entry.size, entry.size or 1)])
        return await asyncio.to_thread(parse_card, text.decode("utf-8", "replace"))

    def record_download(
        self,
        who: Principal,
        resolved: Resolved,
        entry: FileEntry,
        sha: Sha256 | None = None,
        cache: str | None = None,
    ) -> None:
        """Audit a served file; ``sha``: its content's sha256 when the caller knows it; ``cache``:
        ``hit``/``miss`` for a mirrored file (the dashboard's hit ratio), ``local`` otherwise."""
        self._audit.record(
            who,
            "hub.file.download",
            repository=resolved.repo.repository,
            subject=f"{subject_of_repo(resolved.repo)}@{resolved.commit.sha}/{entry.path}",
            # A mirrored regular file's sha256 is known once it is cached; its git oid always is.
            sha256=(sha or self.content_sha(resolved, entry)) or None,
            git_oid=entry.git_oid,
            size=entry.size,
            cache=cache,
        )

    def count_files(self, resolved: Resolved) -> int:
        return self._meta.count_files(resolved.repo.id, resolved.commit.sha)

    def files(self, resolved: Resolved, limit: int = 10_000) -> list[FileEntry]:
        """The first ``limit`` files of a commit (for repo info ``siblings``)."""
        return self._meta.list_files(resolved.repo.id, resolved.commit.sha, "", None, limit)

    def tree(
        self,
        resolved: Resolved,
        path: str,
        *,
        recursive: bool,
        cursor: str | None = None,
        limit: int = TREE_PAGE_SIZE,
    ) -> TreePage:
        return list_tree(
            self._meta, resolved, path, recursive=recursive, cursor=cursor, limit=limit
        )

    def paths_info(self, resolved: Resolved, paths: Iterable[str]) -> list[TreeEntry]:
        return paths_info(self._meta, resolved, paths)

    async def refs(self, who: Principal, ref: HubRef) -> list[RefRecord]:
        resolved = await self.resolve(who, ref, None)
        if resolved.source.kind != "hf-remote":
            return self._meta.list_refs(resolved.repo.id)
        assert self._mirror is not None
        upstream = await self._mirror.refs(resolved.source, resolved.repo)
        if upstream is None:  # what the vault learnt while the upstream answered
            return [
                RefRecord("branch", name, sha)
                for name, sha in self._meta.list_remote_refs(resolved.repo.id)
            ]
        return _refs_from_upstream(upstream)

    def commits(self, resolved: Resolved, offset: int, limit: int) -> list[CommitRecord]:
        return self._meta.list_commits(
            resolved.repo.id, resolved.commit.sha, max(offset, 0), min(max(limit, 1), 1000)
        )


def _refs_from_upstream(data: dict[str, Any]) -> list[RefRecord]:
    out = []
    for key, kind in (("branches", "branch"), ("tags", "tag"), ("pullRequests", "pr")):
        for item in data.get(key) or []:
            if isinstance(item, dict) and is_commit_sha(str(item.get("targetCommit", ""))):
                name = str(item.get("name", ""))
                if kind == "pr":
                    name = name.rsplit("/", 1)[-1]
                out.append(RefRecord(kind, name, CommitSha(str(item["targetCommit"]))))  # type: ignore[arg-type]
    return out
