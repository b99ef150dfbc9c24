"""pypi-remote repositories: a caching proxy of one PEP 503/691 upstream index.

Modelled on devpi's mirror indexes (shared/pypi-protocol.md §8):

* project pages are cached per project with a TTL and revalidated with ``If-None-Match``;
* an upstream 404 is cached too (negative cache, its own TTL), so misses do not hammer it;
* when the upstream fails (down, timeout, 5xx/429, malformed page) a cached page is served
  *stale* with a notice (header + log); without one, the error names the upstream failure;
* files are cached forever once their sha256 matched the upstream's published hash;
* offline (per repository or server-wide) never contacts the upstream and lists only what is
  cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    OfflineModeError,
    UpstreamError,
    UpstreamUnavailableError,
)
from ...ids import Sha256
from ...storage.packages import PackageFileRecord, PackageStore, RemoteLinkRecord, RemotePageRecord
from ...storage.records import BlobInfo, RepositoryRecord
from ..cache_quota import CacheAccounting
from ..content import ContentStore
from ..leases import optional
from ..secrets import MASK
from ..streaming import ContentStream, Flight, StreamThrough
from ..upstream_proxy import ProxyAddress, remote_proxy
from ..urls import userinfo_of, without_userinfo
from .metadata import MAX_METADATA_BYTES, wheel_metadata
from .models import DistFile, FileSource, ProjectPage
from .names import parse_filename, version_of
from .ports import PypiUpstream, UpstreamCredentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PypiOptions:
    """Server-wide PyPI settings (from VaultSettings traits)."""

    remote_ttl_seconds: float = 1800.0
    negative_ttl_seconds: float = 300.0
    upstream_timeout_seconds: float = 10.0
    offline: bool = False
    upload_max_bytes: int = 4 * 1024**3


@dataclass(frozen=True)
class RemoteConfig:
    upstream: str
    ttl_seconds: float
    negative_ttl_seconds: float
    timeout_seconds: float
    offline: bool
    credentials: UpstreamCredentials | None = None
    proxy: ProxyAddress | None = None
    """The repository's own forward proxy (core/upstream_proxy.py)."""

    @classmethod
    def of(
        cls,
        record: RepositoryRecord,
        options: PypiOptions,
        reveal: Callable[[str], str] = str,
    ) -> RemoteConfig:
        """``reveal`` turns a stored secret into its plain value (see core/secrets.py)."""
        c = record.config
        url = str(c["upstream"])
        upstream = without_userinfo(url).rstrip("/") + "/"
        username, password = userinfo_of(url) or ("", "")  # stored before credentials moved out
        if c.get("upstream_username") or c.get("upstream_password"):
            username = str(c.get("upstream_username", ""))
            password = reveal(str(c.get("upstream_password", "")))
        return cls(
            upstream=upstream,
            credentials=UpstreamCredentials.for_index(upstream, username, password)
            if username or password
            else None,
            ttl_seconds=float(c.get("ttl_seconds", options.remote_ttl_seconds)),
            negative_ttl_seconds=float(c.get("negative_ttl_seconds", options.negative_ttl_seconds)),
            timeout_seconds=float(c.get("timeout_seconds", options.upstream_timeout_seconds)),
            offline=bool(c.get("offline", False)) or options.offline,
            proxy=remote_proxy(c, reveal),
        )


def validate_upstream_url(value: Any) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise InvalidInputError("'upstream' must be an http(s) URL of a PEP 503 index (…/simple/).")
    parts = urlsplit(value)
    if not parts.hostname or parts.fragment or parts.query:
        raise InvalidInputError("'upstream' must be an http(s) URL with a host, no query/fragment.")
    return value


def credentials_out_of_url(config: dict[str, Any]) -> dict[str, Any]:
    """A pypi-remote config whose ``upstream`` carries ``user:password@`` as the separate
    ``upstream_username`` / ``upstream_password`` settings (masked in every view, kept out of
    every URL that could be logged). The URL's credentials are the newer intent: they win."""
    upstream = config.get("upstream")
    found = userinfo_of(upstream) if isinstance(upstream, str) else None
    if found is None:
        return config
    assert isinstance(upstream, str)
    username, password = found
    moved = {**config, "upstream": without_userinfo(upstream), "upstream_username": username}
    if password and password != MASK:  # "***": the stored password stays
        moved["upstream_password"] = password
    return moved


class RemoteIndex:
    """Pages and files of pypi-remote repositories."""

    cache: CacheAccounting = CacheAccounting()
    """Cache quotas (``core/cache_quota.py``): told of hits, before a fetch and once cached."""

    def __init__(
        self,
        packages: PackageStore,
        content: ContentStore,
        upstream: PypiUpstream | None,
        options: PypiOptions,
        streams: StreamThrough,
        clock: Callable[[], float] = time.time,
        *,
        reveal: Callable[[str], str] = str,
    ) -> None:
        self.streams = streams
        self._reveal = reveal
        self._packages = packages
        self._content = content
        self._upstream = upstream
        self._options = options
        self._clock = clock
        self._page_flights: dict[tuple[str, str], asyncio.Future[ProjectPage]] = {}

    def config(self, repo: RepositoryRecord) -> RemoteConfig:
        return RemoteConfig.of(repo, self._options, self._reveal)

    # -- pages --
    async def page(self, repo: RepositoryRecord, project: str) -> ProjectPage:
        """The project page, from cache or upstream.

        Raises:
            NotFoundError: the upstream does not have the project (possibly negative-cached).
            OfflineModeError: offline and the project is not cached.
            UpstreamUnavailableError: upstream failed and nothing is cached.
        """
        cfg = self.config(repo)
        cached = self._packages.get_remote_page(repo.key, project)
        if cfg.offline:
            if cached is None or cached.status != 200:
                raise OfflineModeError(
                    f"Repository '{repo.key}' is offline and project '{project}' is not cached."
                )
            return self._view(repo, cached, cached_only=True, notice="offline")
        if cached is not None:
            ttl = cfg.ttl_seconds if cached.status == 200 else cfg.negative_ttl_seconds
            if self._clock() - cached.fetched_at < ttl:
                return self._view(repo, cached)
        key = (repo.key, project)
        flight = self._page_flights.get(key)
        if flight is not None:  # single flight for pages too: one upstream request per project
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        flight.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._page_flights[key] = flight
        try:
            result = await self._refresh_once(repo, cfg, project, cached)
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            self._page_flights.pop(key, None)

    async def _refresh_once(
        self,
        repo: RepositoryRecord,
        cfg: RemoteConfig,
        project: str,
        cached: RemotePageRecord | None,
    ) -> ProjectPage:
        """One replica asks the upstream; the others wait for the page it stores."""
        leases = self.streams.leases
        if leases is None:
            return await self._refresh(repo, cfg, project, cached)
        seen = None if cached is None else cached.fetched_at

        def refreshed() -> RemotePageRecord | None:
            page = self._packages.get_remote_page(repo.key, project)
            return page if page is not None and (seen is None or page.fetched_at > seen) else None

        turn = await leases.follow(f"page:{repo.key}:{project}", refreshed)
        if turn.result is not None:
            return self._view(repo, turn.result)
        with optional(turn.lease):
            return await self._refresh(repo, cfg, project, cached)

    async def _refresh(
        self,
        repo: RepositoryRecord,
        cfg: RemoteConfig,
        project: str,
        cached: RemotePageRecord | None,
    ) -> ProjectPage:
        if self._upstream is None:
            raise UpstreamUnavailableError("No upstream client is configured on this server.")
        url = f"{cfg.upstream}{project}/"
        etag = cached.etag if cached is not None and cached.status == 200 else None
        try:
            fetched = await self._upstream.fetch_page(
                url, etag=etag, timeout=cfg.timeout_seconds, auth=cfg.credentials, proxy=cfg.proxy
            )
        except UpstreamError as exc:
            if cached is not None and cached.status == 200:
                log.warning(
                    "Serving stale page of %s from %s: upstream failed: %s",
                    project,
                    repo.key,
                    exc.message,
                )
                return self._view(repo, cached, notice=f"stale; upstream failed: {exc.message}")
            raise UpstreamUnavailableError(
                f"Project '{project}' is not cached in '{repo.key}' and its upstream failed: "
                f"{exc.message}"
            ) from None
        now = self._clock()
        if fetched.status == 304 and cached is not None:
            self._packages.touch_remote_page(repo.key, project, now)
            return self._view(repo, cached)
        page = RemotePageRecord(
            repository=repo.key,
            project=project,
            status=404 if fetched.status == 404 else 200,
            fetched_at=now,
            etag=fetched.etag,
            links=fetched.links,
        )
        self._packages.put_remote_page(page)
        return self._view(repo, page)

    def _view(
        self,
        repo: RepositoryRecord,
        page: RemotePageRecord,
        *,
        cached_only: bool = False,
        notice: str | None = None,
    ) -> ProjectPage:
        if page.status != 200:
            raise NotFoundError(
                f"Project '{page.project}' does not exist upstream of '{repo.key}'."
            )
        stored = {f.filename: f for f in self._packages.list_files(repo.key, page.project)}
        files = []
        for link in page.links:
            held = stored.get(link.filename)
            held = held if held is not None and held.sha256 == link.sha256 else None
            if cached_only and held is None and self._content.known(Sha256(link.sha256)) is None:
                continue
            files.append(
                DistFile(
                    filename=link.filename,
                    sha256=link.sha256,
                    size=link.size if link.size is not None else (held.size if held else None),
                    requires_python=link.requires_python,
                    yanked=link.yanked,
                    upload_time=link.upload_time,
                    metadata_sha256=link.metadata_sha256
                    or (held.metadata_sha256 if held else None),
                    version=version_of(link.filename),
                    repository=repo.key,
                )
            )
        return ProjectPage(name=page.project, files=tuple(files), notice=notice)

    # -- files --
    async def _link(
        self, repo: RepositoryRecord, sha256: str, filename: str
    ) -> tuple[str, RemoteLinkRecord]:
        found = self._packages.find_remote_link(repo.key, sha256, filename)
        if found is None:
            # A direct file URL before (or after the expiry of) its page: load the page once.
            await self.page(repo, parse_filename(filename).name)
            found = self._packages.find_remote_link(repo.key, sha256, filename)
        if found is None:
            raise NotFoundError(f"'{filename}' with sha256 {sha256} is not listed upstream.")
        return found

    async def open_file(
        self,
        repo: RepositoryRecord,
        sha256: str,
        filename: str,
        *,
        stream: bool,
        admit: Callable[[BlobInfo], Awaitable[None]] | None = None,
    ) -> FileSource:
        """``admit`` judges a cold file once stored, before its last byte is served.

        Raises NotFoundError, OfflineModeError, UpstreamUnavailableError, PolicyError.
        """
        held = self._packages.get_file(repo.key, filename)
        if held is not None and held.sha256 == sha256:
            info = self._content.known(Sha256(sha256))
            if info is not None:
                self.cache.touched(repo.key, sha256)
                return FileSource(filename, sha256, info.size, blob=info, cache="hit")
        cfg = self.config(repo)
        if cfg.offline:
            raise OfflineModeError(
                f"Repository '{repo.key}' is offline and '{filename}' is not cached."
            )
        project, link = await self._link(repo, sha256, filename)

        def on_stored(info: BlobInfo) -> None:
            self._record_cached(repo.key, project, link, info)

        known = self._content.known(Sha256(sha256))
        if known is not None:  # stored through another repository or a local upload
            on_stored(known)
            return FileSource(filename, sha256, known.size, blob=known, cache="hit")
        upstream = self._upstream
        if upstream is None:
            raise UpstreamUnavailableError("No upstream client is configured on this server.")

        async def fetch(flight: Flight) -> BlobInfo:
            await self.cache.admit(repo, link.size or 0)  # evict to make room first
            async with upstream.open_file(
                without_userinfo(link.url),
                timeout=cfg.timeout_seconds,
                auth=cfg.credentials,
                proxy=cfg.proxy,
            ) as body:
                if link.size is not None and body.size is not None and body.size != link.size:
                    raise UpstreamUnavailableError(
                        f"Upstream announced {body.size} bytes for '{filename}', which its index "
                        f"lists with {link.size} bytes; nothing was cached."
                    )
                flight.size = body.size if body.size is not None else link.size
                flight.mark_started()
                if body.into is not None:
                    await flight.ingest(body.into)
                else:
                    async for chunk in body.chunks:
                        if chunk:
                            await flight.write(chunk)
            try:
                info = await flight.publish(self._content, sha256, flight.size)
            except IntegrityError as exc:
                raise UpstreamUnavailableError(
                    f"The upstream sent '{filename}' with content that does not match the sha256 "
                    f"its index published ({exc.message}); nothing was cached."
                ) from None
            on_stored(info)
            if admit is not None:
                # Policy decides before the last byte leaves; a block keeps the blob stored
                # (quarantined) and cuts every client of this transfer off.
                await admit(info)
            return info

        async def admit_stored(info: BlobInfo) -> None:  # cached by another replica meanwhile
            on_stored(info)
            if admit is not None:
                await admit(info)

        flight = self.streams.join(
            sha256,
            link.size,
            fetch,
            subject=(repo.key, filename),
            stored=lambda: self._content.known(Sha256(sha256)),
            admit=admit_stored,
        )
        await flight.started
        if not stream:  # HEAD and Range requests are answered from the stored file
            info = await flight.wait()
            on_stored(info)
            return FileSource(filename, sha256, info.size, blob=info, cache="miss")
        return FileSource(
            filename,
            sha256,
            flight.size,
            chunks=flight.read(0, None, 1 << 20),
            stream=ContentStream(self._content.blobs, None, flight),
            cache="miss",
        )

    def _record_cached(
        self, repository: str, project: str, link: RemoteLinkRecord, info: BlobInfo
    ) -> None:
        metadata_sha256 = link.metadata_sha256
        if metadata_sha256 is None and link.filename.endswith(".whl"):
            try:
                with self._content.blobs.open_reader(info.sha256) as f:
                    metadata_sha256 = self._content.put_bytes(wheel_metadata(f)).sha256
            except InvalidInputError as exc:
                log.warning("No core metadata for cached %s: %s", link.filename, exc.message)
        self._packages.add_file(
            PackageFileRecord(
                repository=repository,
                project=project,
                filename=link.filename,
                version=version_of(link.filename) or "",
                sha256=info.sha256,
                size=info.size,
                requires_python=link.requires_python,
                yanked=link.yanked,
                upload_time=link.upload_time or self._clock(),
                metadata_sha256=metadata_sha256,
                uploaded_by="upstream",
                origin="cache",
            )
        )
        self.cache.cached(repository, info)

    async def metadata(self, repo: RepositoryRecord, sha256: str, filename: str) -> BlobInfo:
        """The PEP 658 metadata of a listed file: cached, or fetched and verified.

        Raises:
            NotFoundError, OfflineModeError, UpstreamUnavailableError.
        """
        held = self._packages.get_file(repo.key, filename)
        if held is not None and held.sha256 == sha256 and held.metadata_sha256:
            info = self._content.known(Sha256(held.metadata_sha256))
            if info is not None:
                return info
        cfg = self.config(repo)
        if cfg.offline:
            raise OfflineModeError(
                f"Repository '{repo.key}' is offline; the metadata of '{filename}' is not cached."
            )
        _, link = await self._link(repo, sha256, filename)
        expected = link.metadata_sha256
        if expected is None:
            raise NotFoundError(f"No core metadata is available for '{filename}'.")
        info = self._content.known(Sha256(expected))
        if info is not None:
            return info
        if self._upstream is None:
            raise UpstreamUnavailableError("No upstream client is configured on this server.")
        data = await self._upstream.fetch_small(
            without_userinfo(link.url) + ".metadata",
            limit=MAX_METADATA_BYTES,
            timeout=cfg.timeout_seconds,
            auth=cfg.credentials,
            proxy=cfg.proxy,
        )
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise UpstreamUnavailableError(
                f"The upstream metadata of '{filename}' does not match its published sha256 "
                f"({expected}, got {actual}); nothing was cached."
            )
        return self._content.put_bytes(data)
