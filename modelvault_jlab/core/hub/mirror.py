"""hf-remote repositories: a caching mirror of an upstream Hub.

Upstream commits are recorded as they are (same 40-hex ids, same file oids), so a client's own
cache stays coherent whether it talks to the upstream or to the vault. Revision names resolve
upstream and are cached for a TTL; commits are immutable and cached forever; file content is
cached on first download (stream-through, single flight) and then served with no upstream call.
When the upstream is unreachable, times out or fails, what is cached is still served, with a
warning that branch answers may be stale.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from ...errors import (
    InvalidInputError,
    OfflineModeError,
    PolicyError,
    RepoExistsError,
    UpstreamUnavailableError,
)
from ...ids import CommitSha, RepoType, Sha256, is_commit_sha, is_sha256, validate_repo_path
from ...storage.meta import MetadataStore
from ...storage.records import BlobInfo, CommitRecord, FileEntry, HubRepoRecord, RepositoryRecord
from ..cache_quota import QUOTA_SETTINGS, CacheAccounting
from ..content import ContentStore
from ..repositories import check_settings
from ..streaming import Flight, StreamThrough
from ..upstream_proxy import PROXY_SETTINGS
from ..urls import userinfo_of
from .ports import HubUpstream

DEFAULT_REVISION_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class MirrorResolution:
    repo: HubRepoRecord
    commit: CommitRecord
    warning: str | None


UpstreamFactory = Callable[[RepositoryRecord], HubUpstream]


class HubMirror:
    cache: CacheAccounting = CacheAccounting()
    """Cache quotas (``core/cache_quota.py``): told before a fetch and after a file is cached."""

    def __init__(
        self,
        meta: MetadataStore,
        content: ContentStore,
        streams: StreamThrough,
        upstream_for: UpstreamFactory,
        *,
        offline: Callable[[], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._meta = meta
        self._content = content
        self._streams = streams
        self._upstream_for = upstream_for
        self._global_offline = offline
        self._clock = clock

    def offline(self, record: RepositoryRecord) -> bool:
        return bool(record.config.get("offline")) or self._global_offline()

    @staticmethod
    def ttl(record: RepositoryRecord) -> float:
        value = record.config.get("revision_ttl_seconds", DEFAULT_REVISION_TTL_SECONDS)
        return float(value) if isinstance(value, int | float) else DEFAULT_REVISION_TTL_SECONDS

    async def resolve(
        self, record: RepositoryRecord, repo_type: RepoType, repo_id: str, revision: str
    ) -> MirrorResolution:
        """Resolve ``revision`` of an upstream repo, mirroring its commit on first sight.

        Raises:
            RepoNotFoundError / RevisionNotFoundError: the upstream says so.
            UpstreamUnavailableError: the upstream failed and nothing usable is cached.
            OfflineModeError: the repository is offline and the revision is not cached.
        """
        repo = self._meta.get_hub_repo(record.key, repo_type, repo_id)
        cached: tuple[CommitSha, float] | None = None
        if repo is not None:
            if is_commit_sha(revision):
                commit = self._meta.get_commit(repo.id, CommitSha(revision))
                if commit is not None:  # immutable: no upstream call, ever
                    return MirrorResolution(repo, commit, None)
            else:
                cached = self._meta.get_remote_ref(repo.id, revision)
                if cached is not None and self._clock() - cached[1] < self.ttl(record):
                    return MirrorResolution(repo, self._commit(repo, cached[0]), None)
        if self.offline(record):
            if repo is not None and cached is not None:
                return MirrorResolution(
                    repo,
                    self._commit(repo, cached[0]),
                    f"offline; {repo_id}@{revision} is the cached {cached[0][:12]}",
                )
            raise OfflineModeError(
                f"Repository '{record.key}' is offline and {repo_id}@{revision} is not cached."
            )
        upstream = self._upstream_for(record)
        try:
            info = await upstream.revision_info(repo_type, repo_id, revision)
        except UpstreamUnavailableError as exc:
            if repo is not None and cached is not None:
                return MirrorResolution(
                    repo,
                    self._commit(repo, cached[0]),
                    f"{exc.message} Serving the cached {revision} = {cached[0][:12]}; it may be stale.",
                )
            raise
        sha = str(info["sha"])
        if not is_commit_sha(sha):
            raise UpstreamUnavailableError(f"Upstream {upstream.name} sent an invalid commit id.")
        if repo is None:
            repo = self._ensure_repo(record, repo_type, repo_id, bool(info.get("private", False)))
        commit = self._meta.get_commit(repo.id, CommitSha(sha))
        if commit is None:
            entries = [_entry(e) for e in await upstream.tree(repo_type, repo_id, sha)]
            commit = CommitRecord(
                sha=CommitSha(sha),
                hub_repo=repo.id,
                parent=None,
                title=f"mirrored from {upstream.name}",
                message="",
                author="upstream",
                created_at=_parse_date(info.get("lastModified")) or self._clock(),
            )
            self._meta.mirror_commit(commit, entries)
        if not is_commit_sha(revision):
            self._meta.set_remote_ref(repo.id, revision, CommitSha(sha), self._clock())
        return MirrorResolution(repo, commit, None)

    def _commit(self, repo: HubRepoRecord, sha: CommitSha) -> CommitRecord:
        commit = self._meta.get_commit(repo.id, sha)
        assert commit is not None, "a cached ref always points at a mirrored commit"
        return commit

    def _ensure_repo(
        self, record: RepositoryRecord, repo_type: RepoType, repo_id: str, private: bool
    ) -> HubRepoRecord:
        try:
            return self._meta.create_hub_repo(
                record.key, repo_type, repo_id, private, "upstream", None
            )
        except RepoExistsError:  # a concurrent first request created it
            repo = self._meta.get_hub_repo(record.key, repo_type, repo_id)
            assert repo is not None
            return repo

    async def refs(self, record: RepositoryRecord, repo: HubRepoRecord) -> dict[str, Any] | None:
        """The upstream's refs, or None when it cannot be asked (offline, unreachable)."""
        if self.offline(record):
            return None
        try:
            return await self._upstream_for(record).refs(repo.repo_type, repo.repo_id)
        except UpstreamUnavailableError:
            return None

    def stored_blob(self, entry: FileEntry) -> BlobInfo | None:
        """The blob of a mirrored file whose content is cached (by any replica), else None."""
        sha = entry.sha256 if entry.lfs else self._meta.get_git_object(entry.git_oid)
        return self._content.known(sha) if sha else None

    def cached_blob(self, entry: FileEntry) -> Sha256 | None:
        """The sha256 of a mirrored file whose content is cached, else None."""
        info = self.stored_blob(entry)
        return None if info is None else info.sha256

    async def _publish(
        self, flight: Flight, entry: FileEntry, expected: str | None, repository: str
    ) -> BlobInfo:
        info = await flight.publish(self._content, expected, entry.size)
        if not entry.lfs:  # regular mirrored files are found again by their git oid
            self._meta.put_git_object(entry.git_oid, info.sha256)
        self.cache.cached(repository, info)  # cache quotas: counted against the remote
        return info

    async def open_stream(
        self,
        record: RepositoryRecord,
        repo: HubRepoRecord,
        commit: CommitSha,
        entry: FileEntry,
        admit: Callable[[BlobInfo, Callable[[], BinaryIO]], Awaitable[None]],
    ) -> Flight:
        """Start or join the transfer of an uncached file; returns once upstream answered.

        Raises:
            OfflineModeError, UpstreamUnavailableError, EntryNotFoundError: before any byte.
        """
        if self.offline(record):
            raise OfflineModeError(
                f"Repository '{record.key}' is offline and {repo.repo_id}/{entry.path} is not cached."
            )
        upstream = self._upstream_for(record)

        async def fetch(flight: Flight) -> BlobInfo:
            # Regular files are checked against their git oid; LFS files against their sha256,
            # which the blob writer computes anyway.
            await self.cache.admit(record, entry.size)  # cache quotas: evict to make room first
            git = None if entry.lfs else hashlib.sha1(usedforsecurity=False)
            if git is not None:
                git.update(b"blob %d\0" % entry.size)
            async with upstream.open_file(repo.repo_type, repo.repo_id, commit, entry.path) as body:
                if body.size is not None and body.size != entry.size:
                    raise UpstreamUnavailableError(
                        f"Upstream {upstream.name} announced {body.size} bytes for {entry.path}, "
                        f"whose tree size is {entry.size}; nothing was cached."
                    )
                flight.mark_started()
                if body.into is not None:
                    await flight.ingest(body.into, () if git is None else (git,))
                else:
                    async for chunk in body.chunks:
                        if git is not None:
                            git.update(chunk)
                        await flight.write(chunk)
            if flight.written != entry.size:
                raise UpstreamUnavailableError(
                    f"Upstream {upstream.name} sent {flight.written} of {entry.size} bytes of "
                    f"{entry.path}; nothing was cached."
                )
            if git is not None and git.hexdigest() != entry.git_oid:
                raise UpstreamUnavailableError(
                    f"Upstream {upstream.name} sent content for {entry.path} that does not match "
                    f"its git oid {entry.git_oid}; nothing was cached."
                )
            expected = entry.sha256 if entry.lfs else None
            verified = flight.writer.verify(expected, entry.size)
            try:
                # Judged from the temp file before its last byte goes out...
                await admit(verified, flight.writer.open_partial)
            except PolicyError:
                # ...a blocked file is kept (quarantined): a retry then gets the clear 403.
                await self._publish(flight, entry, expected, record.key)
                raise
            flight.release(verified)
            # ...and made durable afterwards, which no client waits for.
            return await self._publish(flight, entry, expected, record.key)

        async def admit_stored(info: BlobInfo) -> None:  # cached by another replica meanwhile
            await admit(info, lambda: self._content.blobs.open_reader(info.sha256))

        key = entry.sha256 if entry.lfs else f"git:{entry.git_oid}"
        flight = self._streams.join(
            key,
            entry.size,
            fetch,
            subject=(record.key, f"{repo.repo_id}/{entry.path}"),
            stored=lambda: self.stored_blob(entry),
            admit=admit_stored,
        )
        await flight.started
        return flight


_HF_CONFIG: dict[str, dict[str, type | tuple[type, ...]]] = {
    "hf-local": {},
    "hf-remote": {
        "upstream": str,
        "upstream_token": str,
        "revision_ttl_seconds": (int, float),
        "timeout_seconds": (int, float),
        "offline": bool,
        **PROXY_SETTINGS,
        **QUOTA_SETTINGS,
    },
    "hf-virtual": {"members": list},
}


def validate_hf_config(
    meta: MetadataStore,
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """A repository-config validator for the Hugging Face kinds."""

    def validate(kind: str, config: dict[str, Any]) -> dict[str, Any]:
        allowed = _HF_CONFIG.get(kind)
        if allowed is None:
            return config
        check_settings(kind, config, allowed)
        upstream = config.get("upstream")
        if upstream is not None and not str(upstream).startswith(("http://", "https://")):
            raise InvalidInputError("'upstream' must be an http(s) URL of a Hub endpoint.")
        if upstream is not None and userinfo_of(str(upstream)) is not None:
            raise InvalidInputError(
                "'upstream' must not carry credentials; put the token in 'upstream_token'."
            )
        if kind == "hf-virtual":
            members = config.get("members")
            if (
                not isinstance(members, list)
                or not members
                or len(set(map(str, members))) != len(members)
            ):
                raise InvalidInputError(
                    "An hf-virtual repository needs a 'members' list of distinct keys."
                )
            for member in members:
                record = meta.get_repository(str(member))
                if record is None or record.kind not in ("hf-local", "hf-remote"):
                    raise InvalidInputError(
                        f"Member {member!r} is not an hf-local or hf-remote repository."
                    )
        return config

    return validate


def _entry(raw: dict[str, Any]) -> FileEntry:
    """A tree entry from the upstream, validated like any client input."""
    path = raw.get("path")
    size = raw.get("size")
    oid = raw.get("oid")
    if not isinstance(path, str) or not isinstance(size, int) or not isinstance(oid, str):
        raise UpstreamUnavailableError("Upstream sent a malformed tree entry.")
    try:
        validate_repo_path(path)
    except InvalidInputError as exc:
        raise UpstreamUnavailableError(
            f"Upstream tree holds an unsafe path: {exc.message}"
        ) from None
    lfs = raw.get("lfs")
    if isinstance(lfs, dict):
        sha = str(lfs.get("oid", ""))
        if not is_sha256(sha):
            raise UpstreamUnavailableError(f"Upstream sent an invalid LFS oid for {path}.")
        return FileEntry(path, Sha256(sha), size, oid, True)
    # Regular file: its sha256 is learnt when it is first downloaded (git_objects).
    return FileEntry(path, Sha256(""), size, oid, False)


def _parse_date(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


async def drain(chunks: AsyncIterator[bytes]) -> bytes:
    """Collect a small stream (model cards)."""
    return b"".join([c async for c in chunks])
