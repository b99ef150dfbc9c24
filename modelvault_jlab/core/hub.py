"""Hub repos inside local repositories: create, commit, resolve, list, refs.

Commits are immutable and get 40-hex ids; branches, tags and ``refs/pr/N`` are the only mutable
state and move by compare-and-swap in the metadata store. A commit's files are its parent's files
plus its changes, so resolving a file at any commit is one indexed lookup.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import (
    ConflictError,
    EntryNotFoundError,
    InvalidInputError,
    InvalidRevisionError,
    RepoNotFoundError,
    RevisionNotFoundError,
    StorageError,
    UnsupportedOperationError,
    VaultError,
    WriteConflictError,
)
from ..ids import (
    CommitSha,
    RepoType,
    Sha256,
    is_commit_sha,
    pr_number,
    validate_ref_name,
    validate_repo_id,
    validate_repo_path,
    validate_repo_type,
    validate_revision,
    validate_sha256,
)
from ..storage.base import (
    BlobStore,
    CommitRecord,
    FileChange,
    FileEntry,
    HubRepoRecord,
    MetadataStore,
    RefKind,
    RefRecord,
    RepositoryRecord,
)
from .audit import AuditLog
from .cards import MAX_CARD_BYTES, parse_card
from .content import ContentStore, lfs_pointer_oid
from .gate import Gate, Subject
from .identity import SYSTEM, AccessPolicy, Action, Principal
from .mirror import HubMirror
from .policy.engine import Decision
from .streaming import Flight

DEFAULT_BRANCH = "main"
TREE_PAGE_SIZE = 1000
_FAR = "/\U0010ffff"  # sorts after every path inside a folder


@dataclass(frozen=True)
class HubRef:
    """Where a Hub repo lives: repository key, type and ``namespace/name``."""

    repository: str
    repo_type: RepoType
    repo_id: str

    @classmethod
    def parse(cls, repository: str, repo_type: str | None, repo_id: str) -> HubRef:
        return cls(repository, validate_repo_type(repo_type), validate_repo_id(repo_id))


@dataclass(frozen=True)
class Resolved:
    """A revision resolved to a commit of a repo (of a member, for a virtual repository)."""

    repo: HubRepoRecord
    commit: CommitRecord
    revision: str
    source: RepositoryRecord
    """The repository that holds the repo: hf-local, or hf-remote for a mirrored one."""
    warning: str | None = None
    """Set when the answer comes from cache because the upstream could not be asked."""


class ContentStream:
    """A file's bytes, opened before any response header is sent (so errors stay clean)."""

    def __init__(self, blobs: BlobStore, sha256: Sha256 | None, flight: Flight | None) -> None:
        self._blobs = blobs
        self._sha256 = sha256
        self._flight = flight

    @property
    def cached(self) -> bool:
        return self._flight is None

    async def chunks(self, start: int, end: int, chunk_size: int) -> AsyncIterator[bytes]:
        """Raises UpstreamError mid-stream when a stream-through fails (cut the client off)."""
        if self._flight is not None:
            async for chunk in self._flight.read(start, end, chunk_size):
                yield chunk
            return
        assert self._sha256 is not None
        with self._blobs.open_reader(self._sha256) as f:
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = f.read(min(chunk_size, remaining))
                if not chunk:  # the stored blob is shorter than recorded: never pad or pretend
                    raise StorageError(f"blob {self._sha256} is truncated in storage")
                remaining -= len(chunk)
                yield chunk


@dataclass(frozen=True)
class TreeEntry:
    kind: Literal["file", "directory"]
    path: str
    oid: str
    file: FileEntry | None = None


@dataclass(frozen=True)
class TreePage:
    entries: list[TreeEntry]
    next_cursor: str | None


# -- commit operations --
@dataclass(frozen=True)
class PutFile:
    """Add or replace ``path`` with a stored blob.

    ``git_oid`` is set for regular (inline) files; ``None`` means an LFS file, whose oid is that of
    its pointer. ``size`` is ``None`` when the client did not state it (LFS copies).
    """

    path: str
    sha256: Sha256
    size: int | None
    git_oid: str | None


@dataclass(frozen=True)
class DeletePath:
    path: str
    folder: bool


Operation = PutFile | DeletePath


@dataclass(frozen=True)
class CommitResult:
    commit: CommitRecord
    pr_number: int | None


def _now() -> float:
    return time.time()


class HubService:
    """Hub-compatible repos in ``hf-local`` repositories."""

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
        self._repo_decisions: dict[tuple[str, int, str, str], Decision] = {}

    # -- repositories and repos --
    def _repository(self, who: Principal, key: str, action: Action) -> RepositoryRecord:
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

    def _repo(self, who: Principal, ref: HubRef, action: Action) -> HubRepoRecord:
        self._repository(who, ref.repository, action)
        repo = self._meta.get_hub_repo(ref.repository, ref.repo_type, ref.repo_id)
        if repo is None:
            raise RepoNotFoundError(f"Repository Not Found: {ref.repo_type} {ref.repo_id}.")
        return repo

    def get_repo(self, who: Principal, ref: HubRef) -> HubRepoRecord:
        return self._repo(who, ref, "read")

    def list_repos(
        self,
        who: Principal,
        repository: str,
        repo_type: RepoType | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[HubRepoRecord]:
        self._repository(who, repository, "read")
        return self._meta.list_hub_repos(repository, repo_type, after, min(max(limit, 1), 1000))

    def _new_commit(
        self,
        repo_key: str,
        hub_repo: int,
        parent: CommitSha | None,
        title: str,
        message: str,
        author: str,
    ) -> CommitRecord:
        now = self._clock()
        digest = hashlib.sha1(  # commit ids are names, not security boundaries
            json.dumps(
                [repo_key, hub_repo, parent, title, message, author, now, uuid.uuid4().hex]
            ).encode(),
            usedforsecurity=False,
        ).hexdigest()
        return CommitRecord(
            sha=CommitSha(digest),
            hub_repo=hub_repo,
            parent=parent,
            title=title,
            message=message,
            author=author,
            created_at=now,
        )

    def create_repo(self, who: Principal, ref: HubRef, *, private: bool = True) -> HubRepoRecord:
        """Raises RepoExistsError when it exists."""
        self._repository(who, ref.repository, "write")
        initial = self._new_commit(ref.repository, 0, None, "initial commit", "", who.name)
        repo = self._meta.create_hub_repo(
            ref.repository, ref.repo_type, ref.repo_id, private, who.name, initial
        )
        self._audit.record(
            who,
            "hub.repo.create",
            repository=ref.repository,
            subject=_subject(ref),
            private=private,
        )
        return repo

    def delete_repo(self, who: Principal, ref: HubRef) -> None:
        repo = self._repo(who, ref, "write")
        self._meta.delete_hub_repo(repo.id)
        self._audit.record(who, "hub.repo.delete", repository=ref.repository, subject=_subject(ref))

    def update_repo(self, who: Principal, ref: HubRef, *, private: bool) -> HubRepoRecord:
        repo = self._repo(who, ref, "write")
        return self._meta.update_hub_repo(repo, private=private)

    # -- revisions --
    async def resolve(self, who: Principal, ref: HubRef, revision: str | None) -> Resolved:
        """Resolve a branch, tag, ``refs/pr/N`` or full commit sha.

        A virtual repository asks its members in order (local before remote); the first member
        that has the repo answers, even if it then lacks the revision.

        Raises:
            RepoNotFoundError, RevisionNotFoundError, InvalidRevisionError, UpstreamError.
        """
        record = self._repository(who, ref.repository, "read")
        rev = validate_revision(revision or DEFAULT_BRANCH)
        if record.kind != "hf-virtual":
            return await self._resolve_in(record, ref, rev)
        for member in self._members(record):
            try:
                return await self._resolve_in(member, replace(ref, repository=member.key), rev)
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
        return Resolved(repo, self._resolve_commit(repo, rev), rev, record)

    def _resolve_commit(self, repo: HubRepoRecord, rev: str) -> CommitRecord:
        sha: str | None = None
        if is_commit_sha(rev):
            sha = rev
        else:
            kind, name = _ref_of(rev)
            ref = self._meta.get_ref(repo.id, kind, name)
            if ref is None and kind == "branch" and not rev.startswith("refs/"):
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

    def _cached_sha(self, resolved: Resolved, entry: FileEntry) -> Sha256 | None:
        if resolved.source.kind != "hf-remote":
            return entry.sha256
        assert self._mirror is not None
        return self._mirror.cached_blob(entry)

    async def admit(
        self, who: Principal, requested: str, resolved: Resolved, entry: FileEntry
    ) -> list[str]:
        """Apply policy to serving ``entry``: raise PolicyError to block, return warnings.

        Repo-level policies (licence, custom code) always apply; the file's scan verdict applies
        when its content is in the vault (scanning it now if it never was). An uncached remote
        file is scanned while it streams through (see :meth:`open`).
        """
        if self._gate is None:
            return []
        subject = Subject(
            requested,
            resolved.source,
            resolved.repo.repo_type,
            resolved.repo.repo_id,
            resolved.commit.sha,
        )
        decision = await self._repo_decision(subject, resolved)
        sha = self._cached_sha(resolved, entry)
        if sha is not None:
            scan = await asyncio.to_thread(self._gate.scan, sha, entry.path)
            decision = decision.merge(self._gate.file_decision(subject, entry, scan))
        return self._gate.enforce(who, subject, entry.path, decision)

    async def _repo_decision(self, subject: Subject, resolved: Resolved) -> Decision:
        assert self._gate is not None
        # A commit's card and files never change; only policies and waivers do (their epoch).
        key = (subject.source.key, resolved.repo.id, subject.commit, self._gate.epoch())
        cached = self._repo_decisions.get(key)
        if cached is None:
            paths = [f.path for f in self.files(resolved, limit=100_000)]
            card = await self.card(resolved)
            cached = self._gate.repo_decision(subject, card, paths)
            for base_id in _base_models(card):
                cached = cached.merge(await self._base_model_decision(subject, base_id))
            if len(self._repo_decisions) > 4096:
                self._repo_decisions.clear()
            self._repo_decisions[key] = cached
        return cached

    async def _base_model_decision(self, subject: Subject, base_id: str) -> Decision:
        """A model's ``base_model`` must pass the licence policies too, when the vault can see
        it (same repository, or its upstream). An unknown base model is not a violation."""
        assert self._gate is not None
        try:
            ref = HubRef.parse(subject.repository, "model", base_id)
            base = await self.resolve(SYSTEM, ref, None)
        except VaultError:
            return Decision()
        base_subject = Subject(
            subject.repository, base.source, "model", base.repo.repo_id, base.commit.sha
        )
        decision = self._gate.repo_decision(base_subject, await self.card(base), [])
        return Decision(
            tuple(
                replace(v, reason=f"its base model {v.reason}")
                for v in decision.violations
                if v.evidence.get("license", "-") != "-"  # licence findings only, not code
            ),
            decision.waived,
        )

    async def open(
        self, who: Principal, requested: str, resolved: Resolved, entry: FileEntry
    ) -> ContentStream:
        """The bytes of ``entry``: from the store, or streamed through from the upstream.

        A streamed-through file is verified and scanned before its last byte goes out; if policy
        blocks it then, every client of that transfer is cut off and the blob stays quarantined.

        Raises:
            OfflineModeError, UpstreamUnavailableError, EntryNotFoundError: nothing was sent yet.
        """
        sha = self._cached_sha(resolved, entry)
        if sha is not None:
            return ContentStream(self._content.blobs, sha, None)
        assert self._mirror is not None

        async def admit_blob(sha256: Sha256) -> None:
            if self._gate is None:
                return
            subject = Subject(
                requested,
                resolved.source,
                resolved.repo.repo_type,
                resolved.repo.repo_id,
                resolved.commit.sha,
            )
            scan = await asyncio.to_thread(self._gate.scan, sha256, entry.path)
            self._gate.enforce(
                who, subject, entry.path, self._gate.file_decision(subject, entry, scan)
            )

        flight = await self._mirror.open_stream(
            resolved.source, resolved.repo, resolved.commit.sha, entry, admit_blob
        )
        return ContentStream(self._content.blobs, None, flight)

    async def card(self, resolved: Resolved) -> dict[str, Any]:
        """The YAML front matter of the repo's README.md at this commit ({} when there is none)."""
        entry = self._meta.get_file(resolved.repo.id, resolved.commit.sha, "README.md")
        if entry is None or entry.size > MAX_CARD_BYTES:
            return {}
        stream = await self.open(SYSTEM, resolved.source.key, resolved, entry)
        text = b"".join([c async for c in stream.chunks(0, entry.size, entry.size or 1)])
        return parse_card(text.decode("utf-8", "replace"))

    def record_download(self, who: Principal, resolved: Resolved, entry: FileEntry) -> None:
        self._audit.record(
            who,
            "hub.file.download",
            repository=resolved.repo.repository,
            subject=f"{_subject_of(resolved.repo)}@{resolved.commit.sha}/{entry.path}",
            sha256=entry.sha256,
            size=entry.size,
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
        """One page of the listing of ``path`` (``""`` for the root), in path order."""
        repo_id, sha = resolved.repo.id, resolved.commit.sha
        path = validate_repo_path(path.strip("/"), allow_empty=True)
        if path and not self._meta.has_folder(repo_id, sha, path):
            raise EntryNotFoundError(
                f"Entry not found: folder {path} in {resolved.repo.repo_id}@{resolved.revision}.",
                commit=sha,
            )
        prefix = f"{path}/" if path else ""
        after = _decode_cursor(cursor)
        limit = min(max(limit, 1), TREE_PAGE_SIZE)
        if recursive:
            return self._tree_recursive(resolved, prefix, after, limit)
        return self._tree_children(resolved, prefix, after, limit)

    def _tree_recursive(
        self, resolved: Resolved, prefix: str, after: str | None, limit: int
    ) -> TreePage:
        files = self._meta.list_files(resolved.repo.id, resolved.commit.sha, prefix, after, limit)
        entries: list[TreeEntry] = []
        previous = after or ""
        for f in files:
            # A folder is listed once, just before its first file (paths sort folder-contiguously).
            parts = f.path[len(prefix) :].split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = prefix + "/".join(parts[:depth])
                if not previous.startswith(folder + "/"):
                    entries.append(self._dir(resolved, folder))
            entries.append(TreeEntry("file", f.path, f.git_oid, f))
            previous = f.path
        next_cursor = _encode_cursor(files[-1].path) if len(files) == limit else None
        return TreePage(entries, next_cursor)

    def _tree_children(
        self, resolved: Resolved, prefix: str, after: str | None, limit: int
    ) -> TreePage:
        entries: list[TreeEntry] = []
        batch_size = 256
        exhausted = False
        while len(entries) < limit and not exhausted:
            batch = self._meta.list_files(
                resolved.repo.id, resolved.commit.sha, prefix, after, batch_size
            )
            jumped = False
            for f in batch:
                head, sep, _ = f.path[len(prefix) :].partition("/")
                if sep:
                    folder = prefix + head
                    entries.append(self._dir(resolved, folder))
                    after = folder + _FAR  # skip the rest of that folder
                    jumped = True
                    break
                entries.append(TreeEntry("file", f.path, f.git_oid, f))
                after = f.path
                if len(entries) >= limit:
                    break
            exhausted = not jumped and len(batch) < batch_size
        more = len(entries) >= limit and not exhausted and after is not None
        return TreePage(entries, _encode_cursor(after) if more and after else None)

    @staticmethod
    def _dir(resolved: Resolved, folder: str) -> TreeEntry:
        oid = hashlib.sha1(
            f"{resolved.commit.sha}:{folder}".encode(), usedforsecurity=False
        ).hexdigest()
        return TreeEntry("directory", folder, oid)

    def paths_info(self, resolved: Resolved, paths: Iterable[str]) -> list[TreeEntry]:
        out: list[TreeEntry] = []
        for raw in paths:
            path = validate_repo_path(raw.strip("/"), allow_empty=False)
            entry = self._meta.get_file(resolved.repo.id, resolved.commit.sha, path)
            if entry is not None:
                out.append(TreeEntry("file", entry.path, entry.git_oid, entry))
            elif self._meta.has_folder(resolved.repo.id, resolved.commit.sha, path):
                out.append(self._dir(resolved, path))
        return out

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

    # -- writing --
    def existing_oid(self, resolved: Resolved, path: str) -> str | None:
        """What preupload reports for a path: git sha1 of a regular file, sha256 of an LFS one."""
        entry = self._meta.get_file(resolved.repo.id, resolved.commit.sha, path)
        if entry is None:
            return None
        return entry.sha256 if entry.lfs else entry.git_oid

    def commit(
        self,
        who: Principal,
        ref: HubRef,
        revision: str,
        operations: Sequence[Operation],
        *,
        title: str,
        message: str = "",
        parent_commit: str | None = None,
        create_pr: bool = False,
    ) -> CommitResult:
        """Apply ``operations`` on top of ``revision`` (a branch or ``refs/pr/N``).

        Raises:
            RevisionNotFoundError: the branch does not exist.
            InvalidRevisionError: the revision is a tag or a commit.
            WriteConflictError: ``parent_commit`` is not the branch head, or the branch moved.
            InvalidInputError: an operation names an object that was never uploaded, or a size that
                does not match it.
            EntryNotFoundError: a deletion of a path that does not exist.
        """
        repo = self._repo(who, ref, "write")
        rev = validate_revision(revision or DEFAULT_BRANCH)
        if is_commit_sha(rev):
            raise InvalidRevisionError(
                f"Cannot commit to {rev}: commits are immutable; name a branch."
            )
        kind, name = _ref_of(rev)
        if kind == "tag":
            raise InvalidRevisionError(f"Cannot commit to tag {name}: tags are immutable.")
        head_ref = self._meta.get_ref(repo.id, kind, name)
        if head_ref is None and kind == "branch":
            tag = self._meta.get_ref(repo.id, "tag", name)
            if tag is not None:
                raise InvalidRevisionError(f"Cannot commit to tag {name}: tags are immutable.")
        if head_ref is None:
            raise RevisionNotFoundError(f"Invalid rev id: {rev} (no such branch in {ref.repo_id}).")
        head = head_ref.commit
        if parent_commit is not None and parent_commit != head:
            raise WriteConflictError(
                f"Parent commit {parent_commit} is not the head of {rev} ({head}): "
                "someone committed in between; fetch and retry.",
                expected=parent_commit,
                actual=head,
            )
        changes = [self._change(op) for op in operations]
        pr: int | None = None
        if create_pr:
            pr = self._open_pr(repo, head)
            kind, name = "pr", str(pr)
        commit = self._new_commit(ref.repository, repo.id, head, title, message, who.name)
        self._meta.commit(commit, changes, kind, name, head)
        if self._gate is not None:
            # Scanned at commit: a blocked file stays stored (quarantined) but is never served.
            for change in changes:
                if change.entry is not None:
                    self._gate.scan(change.entry.sha256, change.entry.path)
        self._audit.record(
            who,
            "hub.commit",
            repository=ref.repository,
            subject=f"{_subject(ref)}@{commit.sha}",
            revision=rev if pr is None else f"refs/pr/{pr}",
            added=[c.path for c in changes if c.op == "put"][:1000],
            deleted=[c.path for c in changes if c.op != "put"][:1000],
        )
        return CommitResult(commit, pr)

    def _change(self, op: Operation) -> FileChange:
        path = validate_repo_path(op.path.strip("/") if isinstance(op, DeletePath) else op.path)
        if isinstance(op, DeletePath):
            return FileChange("delete_folder" if op.folder else "delete_file", path)
        sha = validate_sha256(op.sha256)
        info = self._content.known(sha)
        if info is None:
            raise InvalidInputError(
                f"File {path} references object {sha}, which was never uploaded: "
                "upload it (LFS) before committing."
            )
        if op.size is not None and op.size != info.size:
            raise InvalidInputError(
                f"File {path} states size {op.size}, but object {sha} has {info.size} bytes."
            )
        lfs = op.git_oid is None
        oid = lfs_pointer_oid(sha, info.size) if lfs else op.git_oid
        assert oid is not None
        return FileChange("put", path, FileEntry(path, sha, info.size, oid, lfs))

    def _open_pr(self, repo: HubRepoRecord, head: CommitSha) -> int:
        number = self._meta.next_pr_number(repo.id)
        self._meta.set_ref(repo.id, "pr", str(number), head, None)
        return number

    def open_pull_request(self, who: Principal, ref: HubRef) -> int:
        """Open ``refs/pr/N`` at the head of the default branch; commits then target it."""
        repo = self._repo(who, ref, "write")
        head = self._resolve_commit(repo, DEFAULT_BRANCH)
        number = self._open_pr(repo, head.sha)
        self._audit.record(
            who,
            "hub.pr.open",
            repository=ref.repository,
            subject=f"{_subject(ref)}@refs/pr/{number}",
        )
        return number

    def create_branch(
        self, who: Principal, ref: HubRef, branch: str, starting_point: str | None = None
    ) -> RefRecord:
        repo = self._repo(who, ref, "write")
        name = validate_ref_name(branch, "branch")
        start = self._resolve_commit(repo, validate_revision(starting_point or DEFAULT_BRANCH))
        self._meta.set_ref(repo.id, "branch", name, start.sha, None)
        self._audit.record(
            who,
            "hub.branch.create",
            repository=ref.repository,
            subject=f"{_subject(ref)}@{name}",
            commit=start.sha,
        )
        return RefRecord("branch", name, start.sha)

    def delete_branch(self, who: Principal, ref: HubRef, branch: str) -> None:
        repo = self._repo(who, ref, "write")
        if branch == DEFAULT_BRANCH:
            raise ConflictError(f"Cannot delete the default branch '{DEFAULT_BRANCH}'.")
        if not self._meta.delete_ref(repo.id, "branch", branch):
            raise RevisionNotFoundError(f"Invalid rev id: {branch} (no such branch).")
        self._audit.record(
            who, "hub.branch.delete", repository=ref.repository, subject=f"{_subject(ref)}@{branch}"
        )

    def create_tag(
        self, who: Principal, ref: HubRef, revision: str, tag: str, message: str = ""
    ) -> RefRecord:
        repo = self._repo(who, ref, "write")
        name = validate_ref_name(tag, "tag")
        target = self._resolve_commit(repo, validate_revision(revision or DEFAULT_BRANCH))
        self._meta.set_ref(repo.id, "tag", name, target.sha, None)
        self._audit.record(
            who,
            "hub.tag.create",
            repository=ref.repository,
            subject=f"{_subject(ref)}@{name}",
            commit=target.sha,
            message=message,
        )
        return RefRecord("tag", name, target.sha)

    def delete_tag(self, who: Principal, ref: HubRef, tag: str) -> None:
        repo = self._repo(who, ref, "write")
        if not self._meta.delete_ref(repo.id, "tag", tag):
            raise RevisionNotFoundError(f"Invalid rev id: {tag} (no such tag).")
        self._audit.record(
            who, "hub.tag.delete", repository=ref.repository, subject=f"{_subject(ref)}@{tag}"
        )


def _base_models(card: dict[str, Any]) -> list[str]:
    raw = card.get("base_model")
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [v for v in values if isinstance(v, str) and v.count("/") == 1][:4]


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


def _ref_of(rev: str) -> tuple[RefKind, str]:
    number = pr_number(rev)
    if number is not None:
        return "pr", str(number)
    if rev.startswith("refs/heads/"):
        return "branch", rev[len("refs/heads/") :]
    if rev.startswith("refs/tags/"):
        return "tag", rev[len("refs/tags/") :]
    if rev.startswith("refs/"):
        raise InvalidRevisionError(f"Unsupported ref {rev!r}.")
    return "branch", rev


def _subject(ref: HubRef) -> str:
    return f"{ref.repo_type}s/{ref.repo_id}"


def _subject_of(repo: HubRepoRecord) -> str:
    return f"{repo.repo_type}s/{repo.repo_id}"


def _encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("Invalid pagination cursor.") from None
