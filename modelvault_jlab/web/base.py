"""The base of every ModelVault handler: the Vault as a kwarg, authentication, error rendering.

Handlers authenticate with ModelVault tokens only (``Authorization: Bearer`` from huggingface_hub,
HTTP Basic password from pip/uv/twine). The protocol routes never read cookies, so cross-site
request forgery does not apply to them and the XSRF check is skipped. Inside Jupyter, the JSON API
additionally accepts the logged-in Jupyter user (see ``modelvault_jlab.extension``): every such
request gets Jupyter's own XSRF check; only a request carrying a vault token in ``Authorization``
is exempt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from http.client import responses
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import iostream, web

from ..core.identity import ANONYMOUS, Action, Principal
from ..core.streaming import ContentStream, LocalRegions
from ..core.vault import Vault
from ..errors import AuthenticationError, InvalidInputError, StorageError, VaultError
from .errors import public_message, status_for

log = logging.getLogger("modelvault")

SENDFILE_MIN_BYTES = 1 << 20
"""Smaller bodies keep the connection alive (sendfile closes it) and cost little to copy."""

F = TypeVar("F", bound=Callable[..., Any])


def vault_auth(method: F) -> F:
    """Mark a handler method as authenticated by the vault itself.

    jupyter_server (with ``allow_unauthenticated_access=False``) rejects requests to methods that
    lack this marker before they reach us; the vault's own token check is stricter than that.
    """
    return allow_unauthenticated(method)


@dataclasses.dataclass(frozen=True)
class WebContext:
    """What every handler needs besides the vault."""

    base_url: str  # ends with '/'
    public_url: str | None  # e.g. https://vault.example.com/ when behind a proxy
    download_chunk_bytes: int
    version: str


class VaultHandler(web.RequestHandler):
    """Shared plumbing. Subclasses implement verbs; they never catch VaultError themselves."""

    def initialize(self, vault: Vault, context: WebContext) -> None:
        self.vault = vault
        self.context = context
        self.principal: Principal = ANONYMOUS
        self._presented: str | None = None

    # -- authentication --
    def _presented_credential(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() in ("bearer", "token") and value:
            return value
        if scheme.lower() == "basic" and value:
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise AuthenticationError("Malformed Basic authorization header.") from None
            return password or user or None
        return None

    async def ambient_principal(self) -> Principal | None:
        """A principal established by the host (Jupyter's login), if any."""
        return None

    ambient_allowed = False
    """True where the host's own login (Jupyter) may stand in for a vault token."""

    async def prepare(self) -> None:
        presented = self._presented_credential()
        if (
            presented is not None
            and self.ambient_allowed
            and not self.vault.identity.looks_like_token(presented)
        ):
            presented = None  # the Jupyter token in Authorization: Jupyter authenticates it
        self._presented = presented
        result = super().prepare()
        if result is not None:
            await result
        if presented is not None:
            principal = self.vault.identity.authenticate(presented)
        else:
            ambient = await self.ambient_principal() if self.ambient_allowed else None
            principal = ambient or ANONYMOUS
        self.principal = dataclasses.replace(principal, remote_addr=self.request.remote_ip)
        self.authorize()

    # The permission each verb needs on the repository named by the first path argument; a verb
    # not listed (or None) is public or authorised otherwise (signed upload URLs).
    actions: ClassVar[dict[str, Action | None]] = {}

    def authorize(self) -> None:
        """Refuse a request before its body is looked at; the domain checks again on each call."""
        action = self.actions.get(self.request.method or "GET")
        if action is not None:
            self.vault.access.require(self.principal, action, self.path_args[0])

    def check_xsrf_cookie(self) -> None:
        # A vault token in Authorization cannot be sent by a forged cross-site request, and the
        # protocol routes accept nothing else; a request the host's login may authenticate
        # (cookie, Jupyter token) gets the host's check.
        if self._presented is not None or not self.ambient_allowed:
            return
        try:
            super().check_xsrf_cookie()
        except web.HTTPError as exc:
            if exc.status_code != 404:
                raise
            # jupyter_server answers a foreign Origin with 404; it is a refusal
            raise web.HTTPError(403, "Cross-origin request refused.") from None

    # -- helpers --
    def public_base(self) -> str:
        """Absolute URL of the server root including base_url, ending with '/'."""
        if self.context.public_url:
            return self.context.public_url.rstrip("/") + "/"
        return f"{self.request.protocol}://{self.request.host}{self.context.base_url}"

    def same_url_with(self, **query: str) -> str:
        """This request's absolute URL with some query parameters replaced (pagination links)."""
        params = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        params.update(query)
        path = self.request.path
        if path.startswith(self.context.base_url):
            path = path[len(self.context.base_url) :]
        return f"{self.public_base()}{path}?{urlencode(params)}"

    def int_arg(self, name: str, default: int) -> int:
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidInputError(f"Query parameter {name!r} must be an integer.") from None

    def json_body(self) -> Any:
        try:
            return json.loads(self.request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError("Request body is not valid JSON.") from None

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(payload))

    def byte_range(self, size: int) -> tuple[int, int] | None:
        """Apply the request's ``Range`` to a body of ``size`` bytes: sets 206/Content-Range and
        Content-Length and returns ``[start, end)``, or answers 416 itself and returns None."""
        start, end = 0, size
        header = self.request.headers.get("Range")
        if header:
            parsed = parse_range(header, size)
            if parsed is None:
                self.set_status(416)
                self.set_header("Content-Range", f"bytes */{size}")
                self.set_header(
                    "X-Error-Message", f"Unsatisfiable range {header[:60]!r} for {size} bytes."
                )
                self.finish()
                return None
            start, end = parsed
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Content-Length", str(end - start))
        return start, end

    async def send_content(self, content: ContentStream, start: int, end: int) -> bool:
        """Send ``[start, end)`` of ``content`` (headers set): a large body that lies in a local
        file goes by ``sendfile`` on a plain HTTP/1.1 connection, so the kernel copies it and the
        event loop stays free for other requests; everything else chunk by chunk."""
        if end - start >= SENDFILE_MIN_BYTES and self._plain_http11():
            local = await content.local_regions(start, end)
            if local is not None:
                return await self._sendfile(local)
        return await self.send_chunks(content.chunks(start, end, self.context.download_chunk_bytes))

    def _plain_http11(self) -> bool:
        stream = getattr(self.request.connection, "stream", None)
        return (
            self.request.version == "HTTP/1.1"
            and isinstance(stream, iostream.IOStream)
            and not isinstance(stream, iostream.SSLIOStream)
        )

    async def _sendfile(self, local: LocalRegions) -> bool:
        """Headers through Tornado, then the body straight from the file to the socket.

        The connection is detached from Tornado (its public hand-over, as for websockets) and
        closed after the body (``Connection: close``), since Tornado no longer frames it. A
        failure mid-body cuts the connection, as in :meth:`send_chunks`.
        """
        self.set_header("Connection", "close")
        try:
            try:
                await self.flush()  # the status line and headers, written by Tornado
            except iostream.StreamClosedError:
                return False
            stream = self.detach()
            # Our own descriptor for the socket: closing the IOStream leaves the connection open.
            sock = socket.socket(fileno=os.dup(stream.socket.fileno()))
            stream.close()
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            complete = False
            try:
                async for offset, length in local.regions:
                    # os.sendfile whenever the socket has room: the kernel copies, not Python
                    sent = await loop.sock_sendfile(sock, local.file, offset, length)
                    if sent != length:  # the file ended early: never pad or pretend
                        raise StorageError(f"{length - sent} bytes missing from the stored file")
                complete = True
            except OSError:
                pass  # the client went away
            except VaultError as exc:
                log.warning("%s %s cut short: %s", self.request.method, self.request.path, exc)
            finally:
                sock.close()
            self.application.log_request(self)
            return complete
        finally:
            await local.aclose()

    async def send_chunks(self, chunks: AsyncIterator[bytes]) -> bool:
        """Write a body whose headers are set, chunk by chunk, bounded by the socket's pace.

        A transfer that fails after the headers went out (an upstream breaking off, content
        failing verification or policy) cuts the connection: the client sees a short body, never
        a complete-looking file. Returns whether the whole body was sent.
        """
        try:
            async for chunk in chunks:
                self.write(chunk)
                await self.flush()
        except iostream.StreamClosedError:
            return False
        except VaultError as exc:
            log.warning("%s %s cut short: %s", self.request.method, self.request.path, exc.message)
            self._finished = True  # nothing more may be written: the response is broken
            self.request.connection.close()  # type: ignore[union-attr]
            return False
        finally:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()
        self.finish()
        return True

    # -- errors --
    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, VaultError) and status_for(value) < 500:
            log.info(
                "%s %s -> %s: %s", self.request.method, self.request.path, status_for(value), value
            )
            return
        if isinstance(value, web.HTTPError):
            log.info("%s %s -> %s", self.request.method, self.request.path, value.status_code)
            return
        if isinstance(value, iostream.StreamClosedError):
            return
        super().log_exception(typ, value, tb)

    def error_details(self, kwargs: dict[str, Any]) -> tuple[int, str, BaseException | None]:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, VaultError) or (exc is not None and not isinstance(exc, web.HTTPError)):
            return status_for(exc), public_message(exc), exc
        if isinstance(exc, web.HTTPError):
            status = exc.status_code
            return status, exc.log_message or responses.get(status, "Error"), exc
        status = self.get_status()
        return status, responses.get(status, "Error"), None

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        # tornado calls send_error(500) for any exception; map ours to their status first.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if exc is not None and not isinstance(exc, web.HTTPError):
            status_code = status_for(exc)
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status, message, exc = self.error_details(kwargs)
        self.set_status(status)
        code = exc.code if isinstance(exc, VaultError) else None
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(
            json.dumps(
                {
                    "message": message,
                    "reason": responses.get(status, ""),
                    "code": code,
                    "details": exc.details if isinstance(exc, VaultError) else {},
                },
                default=str,
            )
        )


AsyncVerb = Callable[..., Awaitable[None]]


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``Range: bytes=…`` (suffix ranges included), or None when it
    cannot be satisfied. Clients never send multiple ranges (huggingface_hub, pip, uv)."""
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "":
        if last == "" or int(last) == 0:
            return None
        return max(size - int(last), 0), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or start >= end:
        return None
    return start, end
