"""``modelvault``: run the standalone server and administer a vault from the shell.

Admin commands open the vault's storage directly (SQLite WAL allows it while a server runs); they
are for operators on the vault's machine. Kernels and notebooks use the HTTP API instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import VaultError
from . import backup, bundles, db, ops, permissions, repos, scan, serve, tokens


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelvault", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (serve, tokens, repos, db, scan, bundles, permissions, ops, backup):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except VaultError as exc:
        print(f"modelvault: error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
