"""The composition root: the only place settings become storage backends and a Vault."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from .config import VaultSettings
from .core.bundles.signing import KeyRing
from .core.secrets import SecretBox
from .core.vault import Vault
from .storage.blobs import BlobStore
from .storage.blobs_fs import FsBlobStore
from .storage.sql.bundles import SqlBundleStore
from .storage.sql.database import Database, open_database
from .storage.sql.metadata import SqlMetadataStore
from .storage.sql.migrations import ensure_current, migrate
from .storage.sql.packages import SqlPackageStore
from .storage.sql.permissions import SqlPermissionStore
from .upstream.egress import EgressGuard
from .upstream.hf_http import HfUpstreams
from .upstream.proxy import ProxyChooser
from .upstream.pypi_http import HttpxPypiUpstream

log = logging.getLogger(__name__)


def open_vault(settings: VaultSettings) -> Vault:
    root = Path(settings.data_dir)
    make_private(root)
    if not settings.database_url:  # SQLite gives its journal files the database file's mode
        with contextlib.suppress(FileExistsError):
            os.close(os.open(settings.database_target(), os.O_CREAT | os.O_EXCL, 0o600))
    db = open_metadata_database(settings)
    proxies = ProxyChooser.from_environment()  # HTTPS_PROXY, HTTP_PROXY, NO_PROXY
    if proxies is not None:
        log.info("Upstream requests go through proxies %s", proxies.describe())
    guard = EgressGuard(settings.egress_policy(), proxies=proxies)
    hub_upstreams = HfUpstreams(guard)
    vault = Vault(
        meta=SqlMetadataStore(db),
        blobs=open_blob_store(settings, root),
        options=settings.options(),
        packages=SqlPackageStore(db),
        pypi_upstream=HttpxPypiUpstream(user_agent="ModelVault", guard=guard),
        pypi_options=settings.pypi_options(),
        bundle_store=SqlBundleStore(db),
        permission_store=SqlPermissionStore(db),
        bundle_keys=KeyRing(settings.bundle_key_dir or root / "bundle-keys"),
        bundle_environments=tuple(settings.bundle_environments),
        hub_upstreams=hub_upstreams,
        egress=guard.policy,
        secrets=SecretBox.from_key_file(Path(settings.secrets_key_file or root / "secrets.key")),
    )
    hub_upstreams.xet_caches = vault.xet_cache  # hf-remotes cache Xet upstream chunks
    vault.metrics.allow_scrape_token(settings.metrics_token)
    if settings.default_hf_repository:
        vault.repositories.ensure(
            settings.default_hf_repository, "hf-local", "Default local Hugging Face repository"
        )
    return vault


def make_private(root: Path) -> None:
    """The data dir 0700 and what it holds directly (database, keys, folders) readable by the
    server's account only: the database holds token hashes and encrypted upstream credentials,
    the key files what decrypts and signs. An existing data dir from an older version is
    tightened (logged). Blobs below stay as they are: the 0700 folders above them keep others out
    (new blobs are written 0400 anyway), and a walk over millions of them would slow every start.
    """
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (root, *root.iterdir(), *_children(root / "bundle-keys")):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            private = mode & 0o700
            os.chmod(path, private)
            log.warning("Tightened permissions of %s from %o to %o", path, mode, private)


def _children(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for sub in folder.iterdir() for p in (sub, *(sub.iterdir() if sub.is_dir() else ()))]


def open_metadata_database(settings: VaultSettings) -> Database:
    """The metadata database the three SQL stores share, migrated (or checked) at start.

    Raises:
        SchemaOutOfDateError: migrations are pending and ``database_migrate_on_start`` is off.
    """
    db = open_database(settings.database_target())
    try:
        if settings.database_migrate_on_start:
            applied = migrate(db)
            if applied:
                settings.log.info(
                    "Database %s migrated to schema version %d",
                    db.describe(),
                    applied[-1].version,
                )
        else:
            ensure_current(db)
    except BaseException:
        db.close()  # no store holds it yet
        raise
    return db


def open_blob_store(settings: VaultSettings, root: Path) -> BlobStore:
    """Local files under ``<data_dir>/blobs``, or a bucket when ``blob_store_url`` is s3://."""
    if not settings.blob_store_url:
        return FsBlobStore(root / "blobs")
    # Imported here: boto3 is an optional dependency (the ``s3`` extra).
    from .storage.blobs_s3 import S3BlobStore, S3Settings, parse_s3_url

    bucket, prefix = parse_s3_url(settings.blob_store_url)
    s3 = S3Settings(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=settings.s3_endpoint_url or None,
        region=settings.s3_region or None,
        access_key_id=settings.s3_access_key_id or None,
        secret_access_key=settings.s3_secret_access_key or None,
        presign_endpoint_url=settings.s3_presign_endpoint_url or None,
        create_bucket=settings.s3_create_bucket,
        part_size=settings.s3_part_size_bytes,
        max_concurrency=settings.s3_max_concurrency,
        incomplete_max_age_seconds=settings.s3_incomplete_max_age_seconds,
    )
    # Spool files must be on local disk next to the metadata, not in a shared /tmp.
    return S3BlobStore(s3, spool_dir=root / "blobs-spool")
