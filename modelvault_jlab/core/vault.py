"""The Vault facade: the one object adapters (web handlers, CLI) receive."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ..storage.base import BlobStore, MetadataStore, RepositoryRecord
from ..storage.bundles import BundleStore
from ..storage.bundles_sqlite import SqliteBundleStore
from ..storage.packages import PackageStore
from ..storage.packages_sqlite import SqlitePackageStore
from ..upstream.hf_http import HfUpstream
from ..upstream.http_stream import HttpStreamer
from .audit import AuditLog
from .bundles import BundleService
from .bundles.signing import KeyRing
from .content import ContentStore
from .gate import Gate
from .hub import HubService
from .hub_write import HubWriter
from .identity import AccessPolicy, IdentityService
from .lfs import LfsService
from .mirror import HubMirror, validate_hf_config
from .pypi import PypiOptions, PypiService
from .pypi.ports import PypiUpstream
from .repositories import RepositoryService
from .streaming import StreamThrough

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VaultOptions:
    """Domain settings (no traitlets below the config layer)."""

    regular_upload_max_bytes: int = 10 * 1024 * 1024
    offline: bool = False
    upstream_timeout_seconds: float = 10.0
    lfs_multipart_threshold_bytes: int = 5 * 1024**3
    lfs_part_size_bytes: int = 512 * 1024**2


class Vault:
    def __init__(
        self,
        meta: MetadataStore,
        blobs: BlobStore,
        options: VaultOptions | None = None,
        clock: Callable[[], float] = time.time,
        *,
        packages: PackageStore | None = None,
        pypi_upstream: PypiUpstream | None = None,
        pypi_options: PypiOptions | None = None,
        bundle_store: BundleStore | None = None,
        bundle_keys: KeyRing | None = None,
        bundle_environments: tuple[str, ...] = ("DEV", "QA", "PROD"),
    ) -> None:
        self.options = options or VaultOptions()
        self.meta = meta
        self.blobs = blobs
        self.access = AccessPolicy(meta)
        self.audit = AuditLog(meta, clock)
        self.identity = IdentityService(meta, clock)
        self.content = ContentStore(blobs, meta)
        self.repositories = RepositoryService(meta, self.access, self.audit)
        self.streams = StreamThrough(self.content)
        self._http: httpx.AsyncClient | None = None
        self._streamer = HttpStreamer()  # large upstream files: see upstream/http_stream.py
        self.mirror = HubMirror(
            meta,
            self.content,
            self.streams,
            self._hub_upstream,
            offline=lambda: self.options.offline,
            clock=clock,
        )
        self.gate = Gate(meta, self.content, self.access, self.audit, clock)
        self.repositories.add_config_validator(validate_hf_config(meta))
        self.hub = HubService(
            meta, self.content, self.access, self.audit, self.mirror, self.gate, clock
        )
        self.hub_write = HubWriter(self.hub, meta, self.content, self.audit, self.gate, clock)
        self.lfs = LfsService(
            meta,
            self.content,
            self.hub,
            self.audit,
            multipart_threshold_bytes=self.options.lfs_multipart_threshold_bytes,
            part_size_bytes=self.options.lfs_part_size_bytes,
            clock=clock,
        )
        packages = packages or SqlitePackageStore(":memory:")
        self.pypi = PypiService(
            meta=meta,
            packages=packages or SqlitePackageStore(":memory:"),
            content=self.content,
            access=self.access,
            audit=self.audit,
            upstream=pypi_upstream,
            options=pypi_options,
            gate=self.gate,
            streams=self.streams,
            clock=clock,
        )
        self.repositories.add_config_validator(self.pypi.validate_config)
        self.bundles = BundleService(
            meta=meta,
            packages=packages,
            store=bundle_store or SqliteBundleStore(":memory:"),
            content=self.content,
            access=self.access,
            audit=self.audit,
            gate=self.gate,
            hub=self.hub,
            mirror=self.mirror,
            keys=bundle_keys or KeyRing(tempfile.mkdtemp(prefix="modelvault-keys-")),
            environments=bundle_environments,
            clock=clock,
        )

    def _hub_upstream(self, record: RepositoryRecord) -> HfUpstream:
        """The upstream of an hf-remote repository (one shared connection pool)."""
        if self._http is None:
            # trust_env=False: the server account's proxies and .netrc never reach an upstream.
            self._http = httpx.AsyncClient(follow_redirects=True, trust_env=False)
        endpoint = str(record.config.get("upstream") or "https://huggingface.co")
        token = record.config.get("upstream_token")
        timeout = record.config.get("timeout_seconds", self.options.upstream_timeout_seconds)
        return HfUpstream(
            self._http, self._streamer, endpoint, str(token) if token else None, float(timeout)
        )

    def recover(self) -> None:
        """Start-up maintenance: drop what writers killed mid-upload left behind."""
        removed = self.blobs.cleanup_incomplete()
        if removed:
            log.warning("Removed %d incomplete upload(s) left by an interrupted server.", removed)

    async def run_background(self) -> None:
        """Work that follows start-up: re-scan blobs an older scanner judged (an upgrade may
        block what was allowed; the gate reports those as audit events)."""
        try:
            count = await asyncio.to_thread(self.gate.rescan_stale)
        except Exception:
            log.exception("Background re-scan failed")
            return
        if count:
            log.warning("Re-scanned %d blob(s) judged by an older scanner version.", count)

    async def aclose(self) -> None:
        await self.streams.aclose()
        if self._http is not None:
            await self._http.aclose()
        self._streamer.close()
        self.close()

    def close(self) -> None:
        self.pypi.close()
        self.bundles.store.close()
        self.meta.close()
