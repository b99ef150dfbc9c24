"""The composition root: the only place settings become storage backends and a Vault."""

from __future__ import annotations

from pathlib import Path

from .config import VaultSettings
from .core.bundles.signing import KeyRing
from .core.vault import Vault
from .storage.blobs_fs import FsBlobStore
from .storage.bundles_sqlite import SqliteBundleStore
from .storage.meta_sqlite import SqliteMetadataStore
from .storage.packages_sqlite import SqlitePackageStore
from .upstream.pypi_http import HttpxPypiUpstream


def open_vault(settings: VaultSettings) -> Vault:
    root = Path(settings.data_dir)
    root.mkdir(parents=True, exist_ok=True)
    vault = Vault(
        meta=SqliteMetadataStore(root / "metadata.sqlite3"),
        blobs=FsBlobStore(root / "blobs"),
        options=settings.options(),
        packages=SqlitePackageStore(root / "metadata.sqlite3"),
        pypi_upstream=HttpxPypiUpstream(user_agent="ModelVault"),
        pypi_options=settings.pypi_options(),
        bundle_store=SqliteBundleStore(root / "metadata.sqlite3"),
        bundle_keys=KeyRing(settings.bundle_key_dir or root / "bundle-keys"),
        bundle_environments=tuple(settings.bundle_environments),
    )
    if settings.default_hf_repository:
        vault.repositories.ensure(
            settings.default_hf_repository, "hf-local", "Default local Hugging Face repository"
        )
    return vault
