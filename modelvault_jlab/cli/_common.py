"""What the command groups share: the storage options and opening a vault from them.

Admin commands open the vault's storage directly (SQLite WAL allows it while a server runs); they
are for operators on the vault's machine. Kernels and notebooks use the HTTP API instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..config import VaultSettings


def settings_from_args(args: argparse.Namespace) -> VaultSettings:
    """The vault settings: ``--config`` file first, then the storage flags given."""
    config = Config()
    if getattr(args, "config", None):
        path = Path(args.config).resolve()
        config = PyFileConfigLoader(path.name, str(path.parent)).load_config()
    settings = VaultSettings(config=config)
    if getattr(args, "data_dir", None):
        settings.data_dir = args.data_dir
    # Blob store flags; S3 keys only via config or the AWS chain (a command line is visible to
    # every user of the machine).
    for name in (
        "database_url",
        "database_migrate_on_start",
        "blob_store_url",
        "s3_endpoint_url",
        "s3_presign_endpoint_url",
        "s3_region",
        "s3_create_bucket",
        "s3_part_size_bytes",
        "blob_download_redirect",
        "blob_redirect_expires_seconds",
    ):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    return settings


def open_vault_from_args(args: argparse.Namespace) -> Any:
    """The vault the options name (imported late: opening storage loads the whole domain)."""
    from ..bootstrap import open_vault

    return open_vault(settings_from_args(args))


def storage_options() -> argparse.ArgumentParser:
    """A parent parser with the options that locate a vault's storage."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", help="vault folder (default: $MODELVAULT_DATA_DIR or the Jupyter data dir)"
    )
    common.add_argument("--config", help="a jupyter_modelvault_config.py-style file")
    common.add_argument(
        "--database-url",
        help="postgresql://… or sqlite:///path (default: $MODELVAULT_DATABASE_URL, else SQLite "
        "in data-dir); prefer the variable or PGPASSWORD for a password",
    )
    common.add_argument(
        "--database-migrate-on-start",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply pending schema migrations when opening the vault (default: yes)",
    )
    common.add_argument("--blob-store-url", help="s3://bucket/prefix (default: files in data-dir)")
    common.add_argument("--s3-endpoint-url", help="S3-compatible endpoint (default: AWS)")
    common.add_argument("--s3-presign-endpoint-url", help="endpoint written in presigned URLs")
    common.add_argument("--s3-region")
    common.add_argument("--s3-part-size-bytes", type=int)
    common.add_argument(
        "--s3-create-bucket", action="store_true", default=None, help="create a missing bucket"
    )
    return common
