"""The standalone server: the same routes as the Jupyter extension, without Jupyter."""

from __future__ import annotations

from typing import Any

from tornado import web

from ..core.vault import Vault
from .access_log import LogFunction, log_request
from .base import WebContext, declares_body
from .metrics import MetricsHandler, counting
from .routes import route_table
from .xet.write import TelemetryHandler


@web.stream_request_body  # answer from the headers: never buffer a body sent to nowhere
class NotFoundHandler(web.RequestHandler):
    """Any other URL: 404 with the error body every handler sends (``VaultHandler.write_error``;
    the ``Error`` schema of ``openapi.yaml``)."""

    def prepare(self) -> None:
        self.set_status(404)
        if declares_body(self.request.headers):
            self.set_header("Connection", "close")  # tornado will not read the body
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(
            '{"message": "Not found", "reason": "Not Found", "code": "NotFound", "details": {}}'
        )


def _log_function(vault: Vault, inner: LogFunction) -> LogFunction:
    return counting(vault.metrics, inner) if vault.options.metrics_enabled else inner


def make_app(vault: Vault, context: WebContext, **settings: Any) -> web.Application:
    base = context.base_url
    kwargs = {"vault": vault, "context": context}
    handlers = [
        (base + pattern, handler, kwargs) for pattern, handler, kwargs in route_table(kwargs)
    ]
    if context.hub_identity is not None:  # sign-in through JupyterHub: its OAuth routes
        from .hub_auth import hub_routes

        handlers = hub_routes(base, context.hub_identity) + handlers
    handlers.append((base + "metrics/?$", MetricsHandler, kwargs))  # where Prometheus looks
    handlers.append((r"/v1/telemetry/?$", TelemetryHandler, {}))  # hf_xet posts to the host root
    return web.Application(
        handlers,  # type: ignore[arg-type]
        default_handler_class=NotFoundHandler,
        xsrf_cookies=False,  # token-only authentication: no cookies to forge
        **{
            **settings,
            "log_function": _log_function(vault, settings.get("log_function", log_request)),
        },
    )
