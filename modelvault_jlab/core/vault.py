"""The Vault facade: the one object adapters (web handlers, CLI) receive."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..storage.base import BlobStore, MetadataStore
from .audit import AuditLog
from .content import ContentStore
from .hub import HubService
from .identity import AccessPolicy, IdentityService
from .lfs import LfsService
from .repositories import RepositoryService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VaultOptions:
    """Domain settings (no traitlets below the config layer)."""

    regular_upload_max_bytes: int = 10 * 1024 * 1024
    lfs_multipart_threshold_bytes: int = 5 * 1024**3
    lfs_part_size_bytes: int = 512 * 1024**2


class Vault:
    def __init__(
        self,
        meta: MetadataStore,
        blobs: BlobStore,
        options: VaultOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or VaultOptions()
        self.meta = meta
        self.blobs = blobs
        self.access = AccessPolicy(meta)
        self.audit = AuditLog(meta, clock)
        self.identity = IdentityService(meta, clock)
        self.content = ContentStore(blobs, meta)
        self.repositories = RepositoryService(meta, self.access, self.audit)
        self.hub = HubService(meta, self.content, self.access, self.audit, clock)
        self.lfs = LfsService(
            meta,
            self.content,
            self.hub,
            self.audit,
            multipart_threshold_bytes=self.options.lfs_multipart_threshold_bytes,
            part_size_bytes=self.options.lfs_part_size_bytes,
            clock=clock,
        )

    def recover(self) -> None:
        """Start-up maintenance: drop what writers killed mid-upload left behind."""
        removed = self.blobs.cleanup_incomplete()
        if removed:
            log.warning("Removed %d incomplete upload(s) left by an interrupted server.", removed)

    def close(self) -> None:
        self.meta.close()
