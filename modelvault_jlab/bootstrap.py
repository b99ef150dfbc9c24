"""The composition root: the only place settings become storage backends and a Vault."""

from __future__ import annotations

from pathlib import Path

from .config import VaultSettings
from .core.vault import Vault
from .storage.blobs_fs import FsBlobStore
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
    )
    if settings.default_hf_repository:
        vault.repositories.ensure(
            settings.default_hf_repository, "hf-local", "Default local Hugging Face repository"
        )
    return vault
