"""The Vault facade: the one object adapters (web handlers, CLI) receive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from secrets import token_hex

from ..errors import AuthenticationError, UpstreamUnavailableError
from ..ids import Sha256
from ..storage.blobs import BlobStore
from ..storage.blobs_fs import FsBlobStore
from ..storage.bundles import BundleStore
from ..storage.meta import MetadataStore
from ..storage.packages import PackageStore
from ..storage.permissions import PermissionStore
from ..storage.records import RepositoryRecord
from ..storage.sql.bundles import SqlBundleStore
from ..storage.sql.cache import SqlCacheStore
from ..storage.sql.database import Database
from ..storage.sql.gc import SqlGcStore
from ..storage.sql.packages import SqlPackageStore
from ..storage.sql.permissions import SqlPermissionStore
from ..storage.sql.stats import SqlStatsStore
from ..storage.sql.store import SqlDatabase
from ..storage.sql.usage import SqlUsageStore
from ..storage.sql.xet_gc import SqlXetGcStore
from .activity import Activity
from .audit import AuditLog
from .blob_removal import BlobRemover
from .bundles import BundleService
from .bundles.signing import KeyRing
from .cache_quota import CacheQuotas
from .content import ContentStore
from .dashboard import VaultDashboard
from .egress import EgressPolicy
from .gc import BlobCollector
from .governance.gate import Gate
from .health import Check, readiness
from .holdings import BlobHoldings
from .hub.download import HubDownloads
from .hub.judge import Judge
from .hub.lfs import LfsService
from .hub.main_card import MainCards
from .hub.mirror import HubMirror, validate_hf_config
from .hub.ports import HubUpstream, HubUpstreams
from .hub.read import HubService
from .hub.write import HubWriter
from .identity import AccessPolicy, IdentityService, Principal
from .leases import DEFAULT_TTL_SECONDS, DEFAULT_WAIT_SECONDS, Lease, Leases
from .metrics import VaultMetrics
from .permissions import PermissionService
from .policy_preview import PolicyPreviewer
from .pypi import PypiOptions, PypiService
from .pypi.ports import PypiUpstream
from .replica_follow import ReplicaFollower, TransferBoard
from .repositories import RepositoryService
from .secrets import SecretBox
from .streaming import ContentStream, StreamThrough
from .throttle import AuthThrottle, ThrottleSettings
from .upstream_proxy import proxy_validator, remote_proxy
from .usage import UsageService
from .xet.cas import XetCas
from .xet.content import XetBlobStore
from .xet.fetch import FetchSigner
from .xet.read import XetReads
from .xet.remote import RemoteXetCache
from .xet.tokens import xet_tokens_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VaultOptions:
    """Domain settings (no traitlets below the config layer)."""

    regular_upload_max_bytes: int = 10 * 1024 * 1024
    offline: bool = False
    upstream_timeout_seconds: float = 10.0
    lfs_multipart_threshold_bytes: int = 5 * 1024**3
    lfs_part_size_bytes: int = 512 * 1024**2
    lfs_max_object_bytes: int = 50 * 10**9
    """Largest LFS object a batch request may announce (the Hub's per-file limit)."""
    auth_failure_burst: int = 30
    auth_failures_per_second: float = 0.5
    lease_ttl_seconds: float = DEFAULT_TTL_SECONDS
    """How long a replica that stopped renewing (died) keeps work others wait for."""
    replica_wait_seconds: float = DEFAULT_WAIT_SECONDS
    """How long a replica waits for another one's transfer or scan before doing it itself."""
    background_interval_seconds: float = 300.0
    blob_redirect_seconds: int = 0
    """Lifetime of presigned URLs downloads are redirected to; 0: serve every download."""
    xet_token_ttl_seconds: int = 600
    """Lifetime of Xet CAS tokens (a revoked Hub token stops at the client's next refresh)."""
    xet_fetch_url_seconds: int = 300
    """Lifetime of signed xorb fetch URLs (an expired one makes the client re-query)."""
    metrics_enabled: bool = True
    """Services report to :attr:`Vault.metrics`; False leaves its registry empty."""


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
        hub_upstreams: HubUpstreams | None = None,
        secrets: SecretBox | None = None,
        egress: EgressPolicy | None = None,
        permission_store: PermissionStore | None = None,
    ) -> None:
        self.options = options or VaultOptions()
        self.metrics = VaultMetrics()
        self.secrets = secrets or SecretBox.ephemeral()
        self._hub_upstreams = hub_upstreams
        self.meta = meta
        self.blobs = blobs
        self.audit = AuditLog(meta, clock)
        permission_store = permission_store or SqlPermissionStore(":memory:")
        self.permissions = PermissionService(permission_store, self.audit)
        self.access = AccessPolicy(meta, self.permissions)
        self.identity = IdentityService(meta, clock)
        self.auth_throttle = AuthThrottle(
            self.audit,
            ThrottleSettings(
                burst=max(1, self.options.auth_failure_burst),
                per_second=max(1e-3, self.options.auth_failures_per_second),
            ),
        )
        # Registered Xet files read as blobs (core/xet/content.py); writes go to ``blobs``.
        self.content = ContentStore(
            XetBlobStore(blobs, meta), meta, self.options.blob_redirect_seconds
        )
        self.repositories = RepositoryService(meta, self.access, self.audit, self.secrets)
        self.leases = Leases(
            meta,
            ttl_seconds=self.options.lease_ttl_seconds,
            wait_seconds=self.options.replica_wait_seconds,
        )
        self.streams = StreamThrough(self.content, self.leases)
        if isinstance(blobs, FsBlobStore):  # replicas on one blob folder stream each other's files
            self.streams.follower = ReplicaFollower(self.leases, TransferBoard(blobs))
        self.activity = Activity(self.access, self.streams, clock)
        self._closing = asyncio.Event()  # ends run_background
        self.mirror = HubMirror(
            meta,
            self.content,
            self.streams,
            self._hub_upstream,
            offline=lambda: self.options.offline,
            clock=clock,
        )
        self.gate = Gate(meta, self.content, self.access, self.audit, clock, self.leases)
        self.repositories.add_config_validator(validate_hf_config(meta))
        self.hub = HubService(
            meta, self.content, self.access, self.audit, self.mirror, self.gate, clock
        )
        self.judge = Judge(self.hub, self.gate, meta)
        self.downloads = HubDownloads(self.hub, self.judge, self.content)
        self.holdings = BlobHoldings(meta, self.access)
        self.hub_write = HubWriter(
            self.hub, meta, self.content, self.audit, self.holdings, self.gate, clock
        )
        self.lfs = LfsService(
            meta,
            self.content,
            self.hub,
            self.audit,
            self.holdings,
            multipart_threshold_bytes=self.options.lfs_multipart_threshold_bytes,
            part_size_bytes=self.options.lfs_part_size_bytes,
            max_object_bytes=self.options.lfs_max_object_bytes,
            clock=clock,
        )
        # Xet storage (core/xet/): the token service both CAS sides use, and the write side.
        self.xet_tokens = xet_tokens_for(meta, self.options.xet_token_ttl_seconds, clock)
        self.xet = XetCas(
            meta,
            self.content,
            self.hub,
            self.gate,
            self.holdings,
            self.audit,
            self.xet_tokens,
            clock,
        )
        # The read side: read tokens, reconstructions, signed fetch URLs (core/xet/read.py).
        self.xet_reads = XetReads(
            meta,
            self.hub,
            self.judge,
            self.xet_tokens,
            FetchSigner(
                bytes.fromhex(meta.set_setting_if_absent("xet_fetch_key", token_hex(32))),
                self.options.xet_fetch_url_seconds,
                clock,
            ),
            self.content.blobs,
            self.content.download_url,
        )
        packages = packages or SqlPackageStore(":memory:")
        self.pypi = PypiService(
            meta=meta,
            packages=packages,
            content=self.content,
            access=self.access,
            audit=self.audit,
            upstream=self._timed_pypi(pypi_upstream),
            options=pypi_options,
            gate=self.gate,
            streams=self.streams,
            clock=clock,
            reveal=self.secrets.reveal,
        )
        self.repositories.add_config_validator(self.pypi.validate_config)
        self.egress = egress or EgressPolicy()
        self.repositories.add_config_validator(self.egress.validate_config)
        self.repositories.add_config_validator(proxy_validator(self.egress))
        self.bundles = BundleService(
            meta=meta,
            packages=packages,
            store=bundle_store or SqlBundleStore(":memory:"),
            content=self.content,
            access=self.access,
            audit=self.audit,
            gate=self.gate,
            judge=self.judge,
            hub=self.hub,
            mirror=self.mirror,
            keys=bundle_keys or KeyRing(tempfile.mkdtemp(prefix="modelvault-keys-")),
            environments=bundle_environments,
            clock=clock,
        )
        # Queries over the metadata store's own database; closed with the vault (each holds it).
        database = _database_of(meta)
        usage_store, gc_store = SqlUsageStore(database), SqlGcStore(database)
        stats_store, cache_store = SqlStatsStore(database), SqlCacheStore(database)
        self._own_stores: list[SqlDatabase] = [usage_store, gc_store, stats_store, cache_store]
        # remote-cache quotas: the mirror and the PyPI remotes report to it
        self.cache = CacheQuotas(cache_store, BlobRemover(blobs), clock)
        self.mirror.cache = self.pypi.remote.cache = self.cache
        if isinstance(permission_store, SqlDatabase):
            self._own_stores.append(permission_store)
        self.dashboard = VaultDashboard(
            meta, stats_store, blobs, self.repositories, self.mirror, self.activity, clock
        )
        self.policy_preview = PolicyPreviewer(
            meta, self.gate, MainCards(meta, blobs, self.mirror), self.mirror
        )
        if self.options.metrics_enabled:
            self._observe()
        self.usage = UsageService(usage_store, meta, self.access)
        xet_gc_store = SqlXetGcStore(database)  # Xet storage is collected with the blobs
        self._own_stores.append(xet_gc_store)
        self.gc = BlobCollector(gc_store, xet_gc_store, blobs, self.audit, clock)

    def _observe(self) -> None:
        """Services report their events to this vault's metrics (``core/metrics.py``)."""
        metrics = self.metrics
        self.gate.observer = self.leases.observer = metrics
        self.hub.observer = self.pypi.observer = metrics
        metrics.count_active_transfers(lambda: len(self.streams.snapshot()))
        self.streams.on_finish.append(lambda flight: metrics.transfer_finished(bool(flight.error)))

    def authenticate(self, presented: str, source: str) -> Principal:
        """A presented token as a principal, throttled and audited per source address.

        Raises:
            TooManyRequestsError: too many failures from ``source`` lately.
            AuthenticationError: malformed, unknown, revoked or expired token.
        """
        self.auth_throttle.check(source)
        try:
            return self.identity.authenticate(presented)
        except AuthenticationError as exc:
            self.auth_throttle.failed(source, exc.message)
            raise

    def xet_cache(self, repository: str) -> RemoteXetCache:
        """Where chunks fetched from a Xet upstream are kept for an hf-remote (given to the
        upstream factory by the composition root)."""
        return RemoteXetCache(self.meta, self.content, repository)

    def _hub_upstream(self, record: RepositoryRecord) -> HubUpstream:
        """The upstream of an hf-remote repository, as its config says."""
        if self._hub_upstreams is None:
            raise UpstreamUnavailableError("This vault was built without Hugging Face upstreams.")
        endpoint = str(record.config.get("upstream") or "https://huggingface.co")
        token = self.secrets.reveal(str(record.config.get("upstream_token") or ""))
        timeout = record.config.get("timeout_seconds", self.options.upstream_timeout_seconds)
        proxy = remote_proxy(record.config, self.secrets.reveal)  # its own proxy setting
        upstream = self._hub_upstreams(endpoint, token or None, float(timeout), proxy, record.key)
        return self.metrics.hub_upstream(upstream) if self.options.metrics_enabled else upstream

    def _timed_pypi(self, upstream: PypiUpstream | None) -> PypiUpstream | None:
        if upstream is None or not self.options.metrics_enabled:
            return upstream
        return self.metrics.pypi_upstream(upstream)

    async def readiness(self) -> list[Check]:
        """Whether this vault can serve: its database and its blob store answer in time."""
        return await readiness(self.meta, self.blobs)

    def recover(self) -> None:
        """Start-up maintenance: drop what writers killed mid-upload left behind."""
        removed = self.blobs.cleanup_incomplete()
        if removed:
            log.warning("Removed %d incomplete upload(s) left by an interrupted server.", removed)
        sealed = self.repositories.seal_stored_secrets()
        if sealed:
            log.warning("Encrypted the stored upstream credentials of %d repositories.", sealed)

    async def run_background(self) -> None:
        """Jobs that run at start-up and then every ``background_interval_seconds`` until
        :meth:`aclose`. Each runs on one replica at a time: under its lease, renewed while it
        runs; a replica that finds it held skips that round, and takes over once the holder died."""
        while not self._closing.is_set():
            await self._run_job("rescan-stale", self._rescan_stale)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._closing.wait(), self.options.background_interval_seconds
                )

    async def _run_job(self, name: str, job: Callable[[Lease], Awaitable[None]]) -> bool:
        """Run ``job`` unless another replica runs it now; True if it ran here."""
        lease = self.leases.try_hold(f"job:{name}")
        if lease is None:
            log.info("Background job %s is running on another replica", name)
            return False
        with lease:
            try:
                await job(lease)
            except Exception:
                log.exception("Background job %s failed", name)
        return True

    async def _rescan_stale(self, lease: Lease) -> None:
        """Re-scan blobs an older scanner judged (an upgrade may block what was allowed; the gate
        reports those as audit events)."""
        count = await asyncio.to_thread(
            self.gate.rescan_stale, keep_going=lambda: not lease.lost.is_set()
        )
        if count:
            log.warning("Re-scanned %d blob(s) judged by an older scanner version.", count)

    def open_stored(self, sha256: Sha256) -> ContentStream:
        """The bytes of a stored blob (its caller already judged it)."""
        return ContentStream(self.blobs, sha256, None)

    async def aclose(self) -> None:
        self._closing.set()
        await self.streams.aclose()
        if self._hub_upstreams is not None:
            await self._hub_upstreams.aclose()
        self.close()

    def close(self) -> None:
        self.cache.flush()  # the last reads' times
        for store in self._own_stores:
            store.close()
        self.pypi.close()
        self.bundles.store.close()
        self.blobs.close()
        self.meta.close()


def _database_of(meta: MetadataStore) -> Database | str:
    """The SQL database behind ``meta`` (usage reads its tables); another store gets an empty
    in-memory one (its usage reads as zero)."""
    return meta.database if isinstance(meta, SqlDatabase) else ":memory:"
