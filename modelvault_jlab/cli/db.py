"""``modelvault db status|migrate``: the schema of the metadata database, without a vault."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import settings_from_args, storage_options


def register(subparsers: Any) -> None:
    """Add the ``db`` command group to an argparse ``subparsers`` object."""
    common = storage_options()
    db = subparsers.add_parser("db", help="metadata database schema").add_subparsers(
        dest="action", required=True
    )
    for action, text in (
        ("status", "show the schema version and pending migrations (exit 1 if any)"),
        ("migrate", "apply pending migrations (safe while replicas run: one applies them)"),
    ):
        db.add_parser(action, parents=[common], help=text).set_defaults(func=cmd_db)


def cmd_db(args: argparse.Namespace) -> int:
    """``db status`` / ``db migrate``."""
    from ..storage.sql.database import open_database
    from ..storage.sql.migrations import LATEST, migrate, status

    db = open_database(settings_from_args(args).database_target())
    try:
        if args.action == "migrate":
            applied = migrate(db)
            for m in applied:
                print(f"applied {m.version:4d}  {m.description}")
        state = status(db)
        print(f"database: {db.describe()}")
        print(f"schema version: {state.current} (this ModelVault: {LATEST})")
        for m in state.pending:
            print(f"pending {m.version:4d}  {m.description}")
        if state.ahead:
            print("the database is newer than this ModelVault: upgrade it", file=sys.stderr)
        return 1 if state.pending or state.ahead else 0
    finally:
        db.close()
