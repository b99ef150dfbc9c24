"""``modelvault``: run the standalone server and administer a vault from the shell.

Admin commands open the vault's storage directly (SQLite WAL allows it while a server runs); they
are for operators on the vault's machine. Kernels and notebooks use the HTTP API instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import __version__
from .config import VaultSettings
from .core.identity import SCOPES, SYSTEM
from .errors import VaultError
from .storage.base import REPOSITORY_KINDS


def _settings(args: argparse.Namespace) -> VaultSettings:
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


def _open(args: argparse.Namespace) -> Any:
    from .bootstrap import open_vault

    return open_vault(_settings(args))


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from tornado.httpserver import HTTPServer

    from .web.app import make_app
    from .web.base import WebContext

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings(args)
    if args.public_url:
        settings.public_url = args.public_url
    vault = _open(args)
    vault.recover()
    base_url = "/" + args.base_url.strip("/") + "/" if args.base_url.strip("/") else "/"
    context = WebContext(
        base_url=base_url,
        public_url=settings.public_url or None,
        download_chunk_bytes=settings.download_chunk_bytes,
        request_body_max_bytes=settings.request_body_max_bytes,
        version=__version__,
    )
    app = make_app(vault, context)

    async def run() -> None:
        server = HTTPServer(
            app,
            xheaders=args.xheaders,
            # every route streams its body and raises this itself where it takes uploads
            max_body_size=settings.request_body_max_bytes,
            idle_connection_timeout=3600,
            chunk_size=1 << 20,  # fewer, larger reads of upload bodies
        )
        server.listen(args.port, args.host)
        print(
            f"ModelVault {__version__} on http://{args.host}:{args.port}{base_url} "
            f"(data: {settings.data_dir})",
            flush=True,
        )
        background = asyncio.create_task(vault.run_background())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        background.cancel()
        await vault.aclose()

    asyncio.run(run())
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    vault = _open(args)
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
    vault = _open(args)
    for t in vault.identity.list_tokens():
        state = "revoked" if t.revoked_at else "active"
        repos = ",".join(t.repositories) or "*"
        print(
            f"{t.id}  {t.name:20}  user={t.created_by}  scope={t.scopes[0]}  repos={repos}  {state}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    vault = _open(args)
    vault.identity.revoke(args.id)
    vault.audit.record(SYSTEM, "token.revoke", subject=args.id, via="cli")
    return 0


def cmd_repo_create(args: argparse.Namespace) -> int:
    vault = _open(args)
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
    vault = _open(args)
    for r in vault.repositories.list(SYSTEM):
        print(f"{r.key:24} {r.kind:12} {'public' if r.public else 'private'}  {r.description}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """``db status`` / ``db migrate``: the schema of the metadata database, without a vault."""
    from .storage.migrations import LATEST, migrate, status
    from .storage.sql import open_database

    db = open_database(_settings(args).database_target())
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelvault", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
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
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the standalone server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--base-url", default="/")
    serve.add_argument("--public-url", default="")
    serve.add_argument(
        "--xheaders", action="store_true", help="trust X-Forwarded-* (behind a proxy)"
    )
    serve.add_argument(
        "--blob-download-redirect",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="redirect downloads of cached, admitted files to presigned object-store URLs",
    )
    serve.add_argument("--blob-redirect-expires-seconds", type=int)
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
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

    repo = sub.add_parser("repo", help="repositories").add_subparsers(dest="action", required=True)
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

    db = sub.add_parser("db", help="metadata database schema").add_subparsers(
        dest="action", required=True
    )
    for action, text in (
        ("status", "show the schema version and pending migrations (exit 1 if any)"),
        ("migrate", "apply pending migrations (safe while replicas run: one applies them)"),
    ):
        db.add_parser(action, parents=[common], help=text).set_defaults(func=cmd_db)

    try:
        from . import scan_cli
    except ImportError:  # the scanner is optional at this layer
        pass
    else:
        scan_cli.register(sub)
    from . import bundle_cli

    bundle_cli.register(sub)
    from . import ops_cli

    ops_cli.register(sub)
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
