"""The access log without secrets.

Clients put credentials in URLs by mistake (``?token=…``, ``?access_token=…``, a ``mvt_`` token
pasted into any parameter). The vault refuses them, but the access log line is written anyway,
with the request's URI: that line must not carry the secret. :func:`redact_uri` replaces the
value of every parameter whose name says it is a credential, and every value that looks like a
ModelVault token wherever it appears, by ``[secret]``.

The standalone server logs with :func:`log_request` (tornado's format); inside Jupyter,
:func:`redacting` wraps jupyter_server's own log function (which already scrubs some parameter
names, but not a token under another name).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_plus

from tornado import web
from tornado.log import access_log

from ..core.identity import TOKEN_PREFIX

SECRET_PARAM_WORDS = ("token", "auth", "key", "secret", "password", "passwd", "signature", "code")
"""A query parameter whose name contains one of these holds a credential."""
REDACTED = "[secret]"
# A token pasted anywhere (percent-encoded or not): the prefix and whatever follows it up to the
# next delimiter of the URI.
_TOKEN = re.compile(re.escape(TOKEN_PREFIX).replace("_", "(?:_|%5[Ff])") + r"[^&;/?#\s]*")

LogFunction = Callable[[web.RequestHandler], None]


def _secret_param(part: str) -> bool:
    name = unquote_plus(part.partition("=")[0]).lower()
    return any(word in name for word in SECRET_PARAM_WORDS)


def redact_uri(uri: str) -> str:
    """``uri`` with credential parameters' values and token-looking values replaced."""
    path, sep, query = uri.partition("?")
    if sep:
        query = "&".join(
            f"{p.partition('=')[0]}={REDACTED}" if _secret_param(p) else p for p in query.split("&")
        )
    return _TOKEN.sub(REDACTED, path + sep + query)


def log_request(handler: web.RequestHandler) -> None:
    """Tornado's access log line (status, method, URI, address, time), redacted."""
    status = handler.get_status()
    log = (
        access_log.info
        if status < 400
        else access_log.warning
        if status < 500
        else access_log.error
    )
    request = handler.request
    log(
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        redact_uri(request.uri or ""),
        request.remote_ip,
        1000.0 * request.request_time(),
    )


def redacting(log_function: LogFunction | None) -> LogFunction:
    """``log_function`` (the host's, e.g. jupyter_server's) seeing only redacted URIs."""
    inner = log_function or (lambda handler: log_request(handler))

    def log(handler: web.RequestHandler) -> None:
        request = handler.request
        uri, referer = request.uri, request.headers.get("Referer")
        # The request is finished: nothing but the log reads these after this point.
        request.uri = redact_uri(uri or "")
        if referer is not None:  # jupyter_server logs it for failed requests
            request.headers["Referer"] = redact_uri(referer)
        try:
            inner(handler)
        finally:
            request.uri = uri
            if referer is not None:
                request.headers["Referer"] = referer

    return log


__all__ = ["log_request", "redact_uri", "redacting"]
