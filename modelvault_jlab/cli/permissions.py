"""``modelvault permission …``: permission targets and vault groups from the command line.

Examples::

    modelvault permission target put team-a --repo models --include 'team-a/**' \\
        --exclude 'team-a/secret-*' --grant group:team-a=write --grant user:carol=read
    modelvault permission target list
    modelvault permission group set team-a alice bob
    modelvault token create --user user:bob --scope read   # a token bounded by bob's targets

Changes are made as the system administrator and audited; a running server applies them within
a second (``core.permissions.CACHE_SECONDS``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..core.identity import SYSTEM
from ._common import open_vault_from_args, storage_options


def register(subparsers: Any) -> None:
    """Add the ``permission`` subcommands to an argparse ``subparsers`` object."""
    common = storage_options()
    perm = subparsers.add_parser("permission", help="permission targets and groups")
    sub = perm.add_subparsers(dest="action", required=True)
    put = sub.add_parser("target-put", parents=[common], help="create or replace a target")
    put.add_argument("name")
    put.add_argument("--repo", action="append", required=True, help="repository key, or '*'")
    put.add_argument("--include", action="append", help="Ant pattern on repo ids (default **)")
    put.add_argument("--exclude", action="append", help="Ant pattern on repo ids")
    put.add_argument(
        "--grant", action="append", default=[], help="user:NAME=ACTION or group:NAME=ACTION"
    )
    put.set_defaults(func=_target_put)
    sub.add_parser("target-list", parents=[common]).set_defaults(func=_target_list)
    delete = sub.add_parser("target-delete", parents=[common])
    delete.add_argument("name")
    delete.set_defaults(func=_target_delete)
    group = sub.add_parser("group-set", parents=[common], help="replace a vault group's members")
    group.add_argument("name")
    group.add_argument("members", nargs="*")
    group.set_defaults(func=_group_set)
    sub.add_parser("group-list", parents=[common]).set_defaults(func=_group_list)
    gdelete = sub.add_parser("group-delete", parents=[common])
    gdelete.add_argument("name")
    gdelete.set_defaults(func=_group_delete)


def _target_put(args: argparse.Namespace) -> int:
    grants = {}
    for grant in args.grant:
        grantee, sep, action = grant.rpartition("=")
        if not sep:
            raise SystemExit(f"--grant {grant!r}: expected user:NAME=ACTION or group:NAME=ACTION")
        grants[grantee] = action
    body: dict[str, Any] = {"repositories": args.repo, "grants": grants}
    if args.include:
        body["include"] = args.include
    if args.exclude:
        body["exclude"] = args.exclude
    target = open_vault_from_args(args).permissions.put_target(SYSTEM, args.name, body)
    print(json.dumps(target.to_json()))
    return 0


def _target_list(args: argparse.Namespace) -> int:
    for target in open_vault_from_args(args).permissions.list_targets(SYSTEM):
        print(json.dumps(target.to_json()))
    return 0


def _target_delete(args: argparse.Namespace) -> int:
    open_vault_from_args(args).permissions.delete_target(SYSTEM, args.name)
    return 0


def _group_set(args: argparse.Namespace) -> int:
    members = open_vault_from_args(args).permissions.set_group(
        SYSTEM, args.name, list(args.members)
    )
    print(json.dumps({"name": args.name, "members": members}))
    return 0


def _group_list(args: argparse.Namespace) -> int:
    for name, members in sorted(open_vault_from_args(args).permissions.groups(SYSTEM).items()):
        print(json.dumps({"name": name, **members}))
    return 0


def _group_delete(args: argparse.Namespace) -> int:
    open_vault_from_args(args).permissions.delete_group(SYSTEM, args.name)
    return 0
