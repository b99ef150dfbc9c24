"""``modelvault repo create|list``: repositories, created as the operator."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..core.identity import SYSTEM
from ..storage.records import REPOSITORY_KINDS
from ._common import open_vault_from_args, storage_options


def register(subparsers: Any) -> None:
    """Add the ``repo`` command group to an argparse ``subparsers`` object."""
    common = storage_options()
    repo = subparsers.add_parser("repo", help="repositories").add_subparsers(
        dest="action", required=True
    )
    rcreate = repo.add_parser("create", parents=[common])
    rcreate.add_argument("key")
    rcreate.add_argument("--kind", choices=REPOSITORY_KINDS, default="hf-local")
    rcreate.add_argument("--description", default="")
    rcreate.add_argument("--public", action="store_true", help="readable without a token")
    rcreate.add_argument(
        "--repo-config",
        default="",
        help='per-repository settings as JSON, e.g. \'{"upstream": "https://pypi.org/simple/"}\'',
    )
    rcreate.set_defaults(func=cmd_repo_create)
    rlist = repo.add_parser("list", parents=[common])
    rlist.set_defaults(func=cmd_repo_list)


def cmd_repo_create(args: argparse.Namespace) -> int:
    vault = open_vault_from_args(args)
    try:
        config = json.loads(args.repo_config) if args.repo_config else {}
    except ValueError:
        config = None
    if not isinstance(config, dict):
        print("modelvault: error: --repo-config must be a JSON object", file=sys.stderr)
        return 2
    vault.pypi.validate_config(args.kind, config)
    vault.repositories.create(
        SYSTEM,
        args.key,
        args.kind,
        description=args.description,
        public=args.public,
        config=config,
    )
    print(args.key)
    return 0


def cmd_repo_list(args: argparse.Namespace) -> int:
    vault = open_vault_from_args(args)
    for r in vault.repositories.list(SYSTEM):
        print(f"{r.key:24} {r.kind:12} {'public' if r.public else 'private'}  {r.description}")
    return 0
