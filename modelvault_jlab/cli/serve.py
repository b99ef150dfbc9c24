"""``modelvault serve``: the standalone server (Tornado, no Jupyter)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
from typing import Any

from .. import __version__
from ._common import open_vault_from_args, settings_from_args, storage_options


def register(subparsers: Any) -> None:
    """Add the ``serve`` command to an argparse ``subparsers`` object."""
    serve = subparsers.add_parser(
        "serve", parents=[storage_options()], help="run the standalone server"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--base-url", default="/")
    serve.add_argument("--public-url", default="")
    serve.add_argument(
        "--xheaders", action="store_true", help="trust X-Forwarded-* (behind a proxy)"
    )
    serve.add_argument(
        "--jupyterhub",
        action="store_true",
        help="run as a JupyterHub service: Hub users sign in (see docs/deployment.md)",
    )
    serve.add_argument(
        "--blob-download-redirect",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="redirect downloads of cached, admitted files to presigned object-store URLs",
    )
    serve.add_argument("--blob-redirect-expires-seconds", type=int)
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from tornado.httpserver import HTTPServer

    from ..web.app import make_app
    from ..web.base import WebContext

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = settings_from_args(args)
    if args.public_url:
        settings.public_url = args.public_url
    vault = open_vault_from_args(args)
    vault.recover()
    base_url = "/" + args.base_url.strip("/") + "/" if args.base_url.strip("/") else "/"
    context = WebContext(
        base_url=base_url,
        public_url=settings.public_url or None,
        download_chunk_bytes=settings.download_chunk_bytes,
        request_body_max_bytes=settings.request_body_max_bytes,
        version=__version__,
    )
    app_settings: dict[str, Any] = {}
    if args.jupyterhub:  # a JupyterHub service: Hub users sign in (web/hub_auth.py)
        from ..web.hub_auth import HubIdentity, cookie_secret

        context = dataclasses.replace(
            context, hub_identity=HubIdentity.from_environment(vault, base_url)
        )
        app_settings["cookie_secret"] = cookie_secret()
    app = make_app(vault, context, **app_settings)

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
