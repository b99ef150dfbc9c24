"""``modelvault backup DEST`` and ``modelvault restore SRC``: a consistent copy of a vault taken
while it serves, restored into an empty data dir (run on the vault's machine)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._common import settings_from_args, storage_options


def register(subparsers: Any) -> None:
    """Add ``backup`` and ``restore`` to an argparse ``subparsers`` object."""
    common = storage_options()
    common.add_argument("--json", action="store_true", help="print JSON")
    p = subparsers.add_parser(
        "backup",
        parents=[common],
        help="copy the metadata (one consistent snapshot) and the blobs it needs into DEST, "
        "safe while servers run; MANIFEST.json is written last",
    )
    p.add_argument("dest", help="a new or empty folder")
    p.add_argument(
        "--no-secrets-key",
        action="store_true",
        help="leave the upstream-credentials key out (back it up separately; without it the "
        "restored vault must be given each upstream credential again)",
    )
    p.set_defaults(func=cmd_backup)
    p = subparsers.add_parser(
        "restore",
        parents=[common],
        help="restore a complete backup into an empty data dir, verifying every file's sha256",
    )
    p.add_argument("src", help="a folder written by `modelvault backup`")
    p.set_defaults(func=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    from ..bootstrap import open_blob_store
    from ..core.backup import backup
    from ..errors import InvalidInputError

    settings = settings_from_args(args)
    root = Path(settings.data_dir)
    if not settings.database_url and not Path(settings.database_target()).is_file():
        # before the blob store is opened (it would create its folders in a mistyped data dir)
        raise InvalidInputError(f"No vault at {root} (no metadata database there).")
    blobs = open_blob_store(settings, root)
    try:
        report = backup(
            settings.database_target(),
            blobs,
            Path(args.dest),
            bundle_key_dir=Path(settings.bundle_key_dir or root / "bundle-keys"),
            secrets_key_file=None
            if args.no_secrets_key
            else Path(settings.secrets_key_file or root / "secrets.key"),
        )
    finally:
        blobs.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        print(f"backed up {report.blobs} blob(s), {report.bytes} bytes, into {report.path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from ..core.backup import restore
    from ..errors import InvalidInputError

    settings = settings_from_args(args)
    if settings.database_url or settings.blob_store_url:
        raise InvalidInputError(
            "modelvault restore writes a data dir (SQLite + blob folder). For PostgreSQL, "
            "pg_restore the dump; for S3, restore into a data dir and copy its blobs/sha256 "
            "folder into the bucket (docs/deployment.md, 'Backup and restore')."
        )
    report = restore(Path(args.src), Path(settings.data_dir))
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        print(f"restored {report.blobs} blob(s), {report.bytes} bytes, into {report.data_dir}")
    return 0
