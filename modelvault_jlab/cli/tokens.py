"""``modelvault token create|list|revoke``: API tokens, issued as the operator."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..core.identity import SCOPES, SYSTEM
from ._common import open_vault_from_args, storage_options


def register(subparsers: Any) -> None:
    """Add the ``token`` command group to an argparse ``subparsers`` object."""
    common = storage_options()
    token = subparsers.add_parser("token", help="API tokens").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", parents=[common], help="issue a token and print it once")
    create.add_argument("--name", default="cli")
    create.add_argument("--user", default="admin", help="whom the token belongs to")
    create.add_argument("--scope", choices=SCOPES, default="read")
    create.add_argument("--repo", action="append", help="limit to this repository (repeatable)")
    create.add_argument("--expires-in", type=float, default=None, help="seconds")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_token_create)
    listing = token.add_parser("list", parents=[common])
    listing.set_defaults(func=cmd_token_list)
    revoke = token.add_parser("revoke", parents=[common])
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_token_revoke)


def cmd_token_create(args: argparse.Namespace) -> int:
    vault = open_vault_from_args(args)
    issued = vault.identity.issue_token(
        name=args.name,
        scope=args.scope,
        created_by=args.user,
        repositories=args.repo or [],
        expires_in_seconds=args.expires_in,
    )
    vault.audit.record(
        SYSTEM, "token.create", subject=issued.record.id, scope=args.scope, via="cli"
    )
    if args.json:
        print(json.dumps({"token": issued.secret, "id": issued.record.id}))
    else:
        print(issued.secret)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    vault = open_vault_from_args(args)
    for t in vault.identity.list_tokens():
        state = "revoked" if t.revoked_at else "active"
        repos = ",".join(t.repositories) or "*"
        print(
            f"{t.id}  {t.name:20}  user={t.created_by}  scope={t.scopes[0]}  repos={repos}  {state}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    vault = open_vault_from_args(args)
    vault.identity.revoke(args.id)
    vault.audit.record(SYSTEM, "token.revoke", subject=args.id, via="cli")
    return 0
