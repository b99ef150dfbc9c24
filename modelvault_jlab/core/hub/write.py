"""Writing to Hub repos in hf-local repositories: create and delete repos, commit, branch, tag,
open pull requests.

Commits are immutable and get 40-hex ids; branches, tags and ``refs/pr/N`` are the only mutable
state and move by compare-and-swap in the metadata store, so two writers on the same parent never
both win.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...errors import (
    ConflictError,
    InvalidInputError,
    InvalidRevisionError,
    RefExistsError,
    RevisionNotFoundError,
    WriteConflictError,
)
from ...ids import (
    CommitSha,
    Sha256,
    is_commit_sha,
    validate_ref_name,
    validate_repo_path,
    validate_revision,
    validate_sha256,
)
from ...storage.meta import MetadataStore
from ...storage.records import (
    BlobInfo,
    CommitRecord,
    FileChange,
    FileEntry,
    HubRepoRecord,
    RefKind,
    RefRecord,
)
from ..audit import AuditLog
from ..content import ContentStore, lfs_pointer_oid
from ..governance.gate import Gate
from ..holdings import BlobHoldings
from ..identity import Principal
from .read import HubService
from .refs import (
    BUNDLE_REF_PREFIX,
    DEFAULT_BRANCH,
    HubRef,
    Resolved,
    is_bundle_ref,
    ref_of,
    subject_of_ref,
)

COMMIT_RETRIES = 8
"""How often a commit without a parent is re-applied after losing a race for the branch."""


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


class HubWriter:
    """The write side of :class:`HubService` (which it asks for repos and revisions)."""

    def __init__(
        self,
        hub: HubService,
        meta: MetadataStore,
        content: ContentStore,
        audit: AuditLog,
        holdings: BlobHoldings,
        gate: Gate | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hub = hub
        self._meta = meta
        self._content = content
        self._audit = audit
        self._holdings = holdings
        self._gate = gate
        self._clock = clock

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
        self._hub.repository_for(who, ref.repository, "write")
        self._hub.require_repo(who, "write", ref)  # permission targets on the new repo id
        initial = self._new_commit(ref.repository, 0, None, "initial commit", "", who.name)
        repo = self._meta.create_hub_repo(
            ref.repository, ref.repo_type, ref.repo_id, private, who.name, initial
        )
        self._audit.record(
            who,
            "hub.repo.create",
            repository=ref.repository,
            subject=subject_of_ref(ref),
            private=private,
        )
        return repo

    def delete_repo(self, who: Principal, ref: HubRef) -> None:
        repo = self._hub.repo_for(who, ref, "write")
        self._meta.delete_hub_repo(repo.id)
        self._audit.record(
            who, "hub.repo.delete", repository=ref.repository, subject=subject_of_ref(ref)
        )

    def update_repo(self, who: Principal, ref: HubRef, *, private: bool) -> HubRepoRecord:
        repo = self._hub.repo_for(who, ref, "write")
        return self._meta.update_hub_repo(repo, private=private)

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
        repo = self._hub.repo_for(who, ref, "write")
        rev = validate_revision(revision or DEFAULT_BRANCH)
        if is_commit_sha(rev):
            raise InvalidRevisionError(
                f"Cannot commit to {rev}: commits are immutable; name a branch."
            )
        kind, name = ref_of(rev)
        if kind == "tag":
            raise InvalidRevisionError(f"Cannot commit to tag {name}: tags are immutable.")
        refuse_bundle_ref(name)
        changes = [self._change(who, op, ref.repository) for op in operations]
        # Without a parent the client asked for "on top of whatever the head is": a commit that
        # lost a race (another writer, maybe another replica) is re-applied on the new head, as
        # the Hub does. With a parent, or when opening a PR, the conflict is the caller's.
        attempts = COMMIT_RETRIES if parent_commit is None and not create_pr else 1
        for attempt in range(attempts):
            head = self._branch_head(repo, ref, rev, kind, name)
            if parent_commit is not None and parent_commit != head:
                raise WriteConflictError(
                    f"Parent commit {parent_commit} is not the head of {rev} ({head}): "
                    "someone committed in between; fetch and retry.",
                    expected=parent_commit,
                    actual=head,
                )
            pr: int | None = None
            target_kind, target_name = kind, name
            if create_pr:
                pr = self._open_pr(repo, head)
                target_kind, target_name = "pr", str(pr)
            commit = self._new_commit(ref.repository, repo.id, head, title, message, who.name)
            try:
                self._meta.commit(commit, changes, target_kind, target_name, head)
                break
            except WriteConflictError:
                if attempt + 1 >= attempts:
                    raise
        if self._gate is not None:
            # Scanned at commit: a blocked file stays stored (quarantined) but is never served.
            for change in changes:
                if change.entry is not None:
                    self._gate.scan(change.entry.sha256, change.entry.path)
        self._audit.record(
            who,
            "hub.commit",
            repository=ref.repository,
            subject=f"{subject_of_ref(ref)}@{commit.sha}",
            revision=rev if pr is None else f"refs/pr/{pr}",
            added=[c.path for c in changes if c.op == "put"][:1000],
            deleted=[c.path for c in changes if c.op != "put"][:1000],
        )
        return CommitResult(commit, pr)

    def _branch_head(
        self, repo: HubRepoRecord, ref: HubRef, rev: str, kind: RefKind, name: str
    ) -> CommitSha:
        head_ref = self._meta.get_ref(repo.id, kind, name)
        if head_ref is None and kind == "branch":
            tag = self._meta.get_ref(repo.id, "tag", name)
            if tag is not None:
                raise InvalidRevisionError(f"Cannot commit to tag {name}: tags are immutable.")
        if head_ref is None:
            raise RevisionNotFoundError(f"Invalid rev id: {rev} (no such branch in {ref.repo_id}).")
        return head_ref.commit

    def _change(self, who: Principal, op: Operation, repository: str) -> FileChange:
        path = validate_repo_path(op.path.strip("/") if isinstance(op, DeletePath) else op.path)
        if isinstance(op, DeletePath):
            return FileChange("delete_folder" if op.folder else "delete_file", path)
        sha = validate_sha256(op.sha256)
        info = self._content.known(sha)
        xet = None
        if info is None and op.git_oid is None:  # Xet-stored, under a store that cannot read it
            info = xet = self._xet_blob(sha)
        # An inline file's bytes came with the commit; an LFS one is named by its sha256 only,
        # which grants nothing: the committer must be able to read a repository holding it
        # (answered exactly like a blob that is not stored, so nothing leaks).
        if info is not None and op.git_oid is None and not self._reusable(who, sha, repository):
            info = None
        if info is None:
            raise InvalidInputError(
                f"File {path} references object {sha}, which was never uploaded: "
                "upload it (LFS) before committing."
            )
        if op.size is not None and op.size != info.size:
            raise InvalidInputError(
                f"File {path} states size {op.size}, but object {sha} has {info.size} bytes."
            )
        if op.git_oid is None and xet is None:  # named by sha256 only: GC may take an old blob
            self._content.reuse(info)
        lfs = op.git_oid is None
        oid = lfs_pointer_oid(sha, info.size) if lfs else op.git_oid
        assert oid is not None
        return FileChange("put", path, FileEntry(path, sha, info.size, oid, lfs))

    def _xet_blob(self, sha: Sha256) -> BlobInfo | None:
        """A Xet-stored file of this content (no blob of its own), if any."""
        record = self._meta.xet_file_for_sha256(sha)
        return None if record is None else BlobInfo(sha, record.size)

    def _reusable(self, who: Principal, sha: Sha256, repository: str) -> bool:
        """Whether ``who`` may name ``sha`` in a commit to ``repository``: read on a repository
        holding it (the LFS rule), or a Xet file of that content was uploaded into
        ``repository`` (its sha256 proven from its bytes when its shard was accepted)."""
        return self._holdings.reusable(who, sha) or self._meta.xet_file_uploaded_to(sha, repository)

    def _open_pr(self, repo: HubRepoRecord, head: CommitSha) -> int:
        number = self._meta.next_pr_number(repo.id)
        self._meta.set_ref(repo.id, "pr", str(number), head, None)
        return number

    def open_pull_request(self, who: Principal, ref: HubRef) -> int:
        """Open ``refs/pr/N`` at the head of the default branch; commits then target it."""
        repo = self._hub.repo_for(who, ref, "write")
        head = self._hub.commit_for(repo, DEFAULT_BRANCH)
        number = self._open_pr(repo, head.sha)
        self._audit.record(
            who,
            "hub.pr.open",
            repository=ref.repository,
            subject=f"{subject_of_ref(ref)}@refs/pr/{number}",
        )
        return number

    def create_branch(
        self, who: Principal, ref: HubRef, branch: str, starting_point: str | None = None
    ) -> RefRecord:
        return self._create_ref(who, ref, "branch", branch, starting_point or DEFAULT_BRANCH)

    def _create_ref(
        self,
        who: Principal,
        ref: HubRef,
        kind: RefKind,
        raw_name: str,
        revision: str,
        **detail: str,
    ) -> RefRecord:
        """A new branch or tag ``raw_name`` at ``revision``, audited as ``hub.<kind>.create``."""
        repo = self._hub.repo_for(who, ref, "write")
        name = validate_ref_name(raw_name, kind)
        refuse_bundle_ref(name)
        self._refuse_other_kind(repo, kind, name)
        target = self._hub.commit_for(repo, validate_revision(revision))
        self._meta.set_ref(repo.id, kind, name, target.sha, None)
        self._audit.record(
            who,
            f"hub.{kind}.create",
            repository=ref.repository,
            subject=f"{subject_of_ref(ref)}@{name}",
            commit=target.sha,
            **detail,
        )
        return RefRecord(kind, name, target.sha)

    def _refuse_other_kind(self, repo: HubRepoRecord, kind: RefKind, name: str) -> None:
        """A name is a branch or a tag, never both, so what a bare name resolves to cannot be
        changed by creating the other kind of ref beside it."""
        other: RefKind = "tag" if kind == "branch" else "branch"
        if self._meta.get_ref(repo.id, other, name) is not None:
            raise RefExistsError(
                f"Cannot create {kind} {name!r}: a {other} of that name already exists."
            )

    def delete_branch(self, who: Principal, ref: HubRef, branch: str) -> None:
        repo = self._hub.repo_for(who, ref, "write")
        if branch == DEFAULT_BRANCH:
            raise ConflictError(f"Cannot delete the default branch '{DEFAULT_BRANCH}'.")
        if not self._meta.delete_ref(repo.id, "branch", branch):
            raise RevisionNotFoundError(f"Invalid rev id: {branch} (no such branch).")
        self._audit.record(
            who,
            "hub.branch.delete",
            repository=ref.repository,
            subject=f"{subject_of_ref(ref)}@{branch}",
        )

    def create_tag(
        self, who: Principal, ref: HubRef, revision: str, tag: str, message: str = ""
    ) -> RefRecord:
        return self._create_ref(who, ref, "tag", tag, revision or DEFAULT_BRANCH, message=message)

    def delete_tag(self, who: Principal, ref: HubRef, tag: str) -> None:
        repo = self._hub.repo_for(who, ref, "write")
        refuse_bundle_ref(tag)
        if not self._meta.delete_ref(repo.id, "tag", tag):
            raise RevisionNotFoundError(f"Invalid rev id: {tag} (no such tag).")
        self._audit.record(
            who, "hub.tag.delete", repository=ref.repository, subject=f"{subject_of_ref(ref)}@{tag}"
        )


def refuse_bundle_ref(name: str) -> None:
    """``bundle/<name>/<version>`` tags pin release bundles: only the bundle service sets them,
    and no writer may create, move or delete any ref (branch, tag, commit target) under that
    prefix, so the name a bundle gives as a pin always means the bundle's commit."""
    if is_bundle_ref(name):
        raise ConflictError(
            f"Ref {name!r} is in the namespace reserved for release bundles ({BUNDLE_REF_PREFIX}…) "
            "and cannot be created, moved or deleted by hand."
        )
