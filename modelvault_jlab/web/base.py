"""The base of every ModelVault handler: the Vault as a kwarg, authentication, error rendering.

Handlers authenticate with ModelVault tokens only (``Authorization: Bearer`` from huggingface_hub,
HTTP Basic password from pip/uv/twine). The protocol routes never read cookies, so cross-site
request forgery does not apply to them and the XSRF check is skipped. Inside Jupyter, the JSON API
additionally accepts the logged-in Jupyter user (see ``jupyter/extension.py``): every such
request gets Jupyter's own XSRF check; only a request carrying a vault token in ``Authorization``
is exempt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlencode

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import httputil, iostream, web

from ..core.identity import ANONYMOUS, Action, Principal
from ..core.streaming import ContentStream, LocalRegions
from ..core.vault import Vault
from ..errors import (
    AuthenticationError,
    InvalidInputError,
    PayloadTooLargeError,
    StorageError,
    TooManyRequestsError,
    VaultError,
)
from ..protocols.content_length import declared_length
from ..strict_json import parse_json
from .errors import public_message, status_for

if TYPE_CHECKING:
    from .hub_auth import HubIdentity

log = logging.getLogger("modelvault")

DISCARD_MAX_BYTES = 64 * 1024
"""Bodies up to this size are read (and dropped) before a refusal is sent; see
:meth:`VaultHandler._discard_small_body`."""
DISCARD_TIMEOUT_SECONDS = 5.0

SENDFILE_MIN_BYTES = 1 << 20
"""Smaller bodies keep the connection alive (sendfile closes it) and cost little to copy."""

F = TypeVar("F", bound=Callable[..., Any])


def vault_auth(method: F) -> F:
    """Mark a handler verb as authenticated by the vault itself (in ``prepare``, before any of
    the body is read), and hand it the request body.

    jupyter_server (with ``allow_unauthenticated_access=False``) rejects requests to methods that
    lack this marker before they reach us; the vault's own token check is stricter than that.
    Tornado calls a verb only once the whole body arrived, so this is where a buffered body is
    assembled (see :meth:`VaultHandler.data_received`).
    """

    @functools.wraps(method)
    def verb(self: VaultHandler, *args: Any, **kwargs: Any) -> Any:
        self.body_received()
        return method(self, *args, **kwargs)

    return allow_unauthenticated(verb)  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class WebContext:
    """What every handler needs besides the vault."""

    base_url: str  # ends with '/'
    public_url: str | None  # e.g. https://vault.example.com/ when behind a proxy
    download_chunk_bytes: int
    version: str
    request_body_max_bytes: int = 4 * 1024 * 1024
    """Largest body of a route that buffers it (JSON, forms); streaming routes set their own."""
    hub_identity: HubIdentity | None = None
    """Sign-in through JupyterHub (``web.hub_auth``), on a standalone vault run as a Hub service."""


@web.stream_request_body
class VaultHandler(web.RequestHandler):
    """Shared plumbing. Subclasses implement verbs; they never catch VaultError themselves.

    Every route streams its request body, so that ``prepare`` authenticates and authorises from
    the headers alone: a request that will be refused costs no memory, however large its body.
    Routes that do not override :meth:`data_received` get their body buffered here, up to
    ``context.request_body_max_bytes``; routes that stream (uploads) bound it themselves.
    """

    def initialize(self, vault: Vault, context: WebContext) -> None:
        self.vault = vault
        self.context = context
        self.principal: Principal = ANONYMOUS
        self._presented: str | None = None
        self._body_chunks: list[bytes] = []
        self._body_bytes = 0
        self._body_complete = False
        self._refusal: VaultError | web.HTTPError | None = None

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
        """Authenticate and authorise from the headers, then :meth:`prepare_request`; the body
        is read only after this, and only if nothing refused the request."""
        try:
            await self._authenticate()
            if self.buffers_body:
                limit = self.context.request_body_max_bytes
                declared = declared_length(self.request.headers.get("Content-Length"))
                if declared is not None and declared > limit:
                    raise self._too_large()
                # tornado's own cap only backs ours up (data_received answers 413 first)
                self.request.connection.set_max_body_size(2 * limit)  # type: ignore[union-attr]
            await self.prepare_request()
        except (VaultError, web.HTTPError) as exc:
            if not declares_body(self.request.headers):
                # Answer from the verb, once tornado has read the (empty) body: an answer given
                # here ends the connection (see finish), and most refused requests are GETs.
                self._refusal = exc
                return
            await self._discard_small_body()
            raise

    async def prepare_request(self) -> None:
        """What a route does once the request is authorised and before its body arrives."""

    async def _authenticate(self) -> None:
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
        hub = self.context.hub_identity
        hub_user = await hub.principal(self) if hub is not None else None
        if hub_user is not None:
            principal = hub_user
        elif presented is not None:
            principal = self.vault.authenticate(presented, self.request.remote_ip or "")
        else:
            ambient = await self.ambient_principal() if self.ambient_allowed else None
            principal = ambient or ANONYMOUS
        self.principal = dataclasses.replace(principal, remote_addr=self.request.remote_ip)
        self.authorize()

    async def _discard_small_body(self) -> None:
        """Read and drop a small body of a refused request before answering.

        Tornado answers and then closes the connection (``Connection: close``, see
        :meth:`finish`) without reading the body; closing a socket with unread bytes sends a TCP
        reset, which can destroy the answer before the client reads it. A body of a few KiB (an
        API call) is read first; a large one is not (that is the point of refusing early).
        """
        declared = declared_length(self.request.headers.get("Content-Length"))
        stream = getattr(self.request.connection, "stream", None)
        if (
            declared is None
            or not 0 < declared <= DISCARD_MAX_BYTES
            or "Expect" in self.request.headers  # the client waits for "100 Continue"
            or not isinstance(stream, iostream.IOStream)
        ):
            return
        with contextlib.suppress(iostream.StreamClosedError, TimeoutError):
            await asyncio.wait_for(stream.read_bytes(declared), DISCARD_TIMEOUT_SECONDS)

    # -- the request body --
    @property
    def buffers_body(self) -> bool:
        """True unless the route streams its body itself (overrides ``data_received``)."""
        return type(self).data_received is VaultHandler.data_received

    def _too_large(self) -> PayloadTooLargeError:
        limit = self.context.request_body_max_bytes
        return PayloadTooLargeError(f"The request body is larger than {limit} bytes.", limit=limit)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._finished:
            return None
        self._body_bytes += len(chunk)
        if self._body_bytes > self.context.request_body_max_bytes:  # chunked, or a lying length
            self._body_chunks.clear()
            exc = self._too_large()
            self.send_error(413, exc_info=(type(exc), exc, None))
            return None
        self._body_chunks.append(chunk)
        return None

    def body_received(self) -> None:
        """Called as a verb starts, when tornado has received the whole body."""
        self._body_complete = True
        if self._refusal is not None:
            raise self._refusal
        if self._body_chunks:
            req = self.request
            req.body = b"".join(self._body_chunks)
            self._body_chunks.clear()
            # what tornado does for a buffered body: form fields become arguments
            httputil.parse_body_arguments(
                req.headers.get("Content-Type", ""), req.body, req.body_arguments, req.files
            )
            for name, values in req.body_arguments.items():
                req.arguments.setdefault(name, []).extend(values)

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> asyncio.Future[None]:
        if not self._body_complete:
            # Answered before the body was read (refused in prepare, or too large): tornado
            # then closes the connection rather than read the rest, so say so, or a client's
            # next request on this pooled connection fails.
            self.set_header("Connection", "close")
        return super().finish(chunk)

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
            return int(raw)  # ValueError past 4300 digits; callers clamp what they use
        except ValueError:
            raise InvalidInputError(f"Query parameter {name!r} must be an integer.") from None

    def json_body(self) -> Any:
        return parse_json(self.request.body, self.context.request_body_max_bytes)

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
        if isinstance(exc, TooManyRequestsError):  # every error writer comes through here
            self.set_header("Retry-After", str(exc.details.get("retry_after", 1)))
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


def declares_body(headers: httputil.HTTPHeaders) -> bool:
    """Whether a request says it carries a body."""
    return "Transfer-Encoding" in headers or headers.get("Content-Length", "0") not in ("", "0")


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_MAX_DIGITS = 19  # below 2**63; a longer number is past the end of any stored file


def _at_most(digits: str, cap: int) -> int:
    """``min(int(digits), cap)`` without building an integer of thousands of digits."""
    significant = digits.lstrip("0") or "0"
    return cap if len(significant) > _MAX_DIGITS else min(int(significant), cap)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``Range: bytes=…`` (suffix ranges included), or None when it
    cannot be satisfied. Clients never send multiple ranges (huggingface_hub, pip, uv)."""
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "":
        if last == "":
            return None
        length = _at_most(last, size)
        return (size - length, size) if length else None
    start = _at_most(first, size)
    end = size if last == "" else _at_most(last, size - 1) + 1
    if start >= size or start >= end:
        return None
    return start, end
