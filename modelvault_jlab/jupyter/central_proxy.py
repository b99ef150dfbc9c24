"""A Jupyter server that uses a central ModelVault instead of an embedded one.

With ``VaultSettings.remote_url`` set, the extension opens no storage. It serves only the sidebar
API, ``{base_url}modelvault/api/*``, by forwarding each request to the same path on the central
vault with the *user's* token (``remote_token``, ``remote_token_file`` or ``$MODELVAULT_TOKEN``).
Jupyter's own login, XSRF and host checks guard the local route; the browser's Jupyter credentials
(Authorization, cookies, XSRF token) never leave this server. Bodies stream both ways.

The Hub and PyPI routes are *not* proxied: kernels get HF_ENDPOINT and PIP_INDEX_URL pointing
straight at the central vault (one hop less for multi-GB files, and the central vault's audit log
sees each kernel's own token and address). On this server those paths answer 404 with a message
naming the central URL. Only ``extension.py`` imports this module.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async
from tornado import iostream, web

from ..config import VaultSettings
from ..protocols.content_length import declared_length
from .kernel_env import KernelToken

log = logging.getLogger("modelvault")

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The browser's Jupyter credentials stay here; the central vault gets the user's vault token.
# Host is the central's own; Expect is answered by this server's HTTP layer.
REQUEST_DROP = HOP_BY_HOP | {"host", "authorization", "cookie", "x-xsrftoken", "expect"}
# Cookies of another origin must not land on Jupyter's; Server/Date are this server's.
RESPONSE_DROP = HOP_BY_HOP | {"set-cookie", "server", "date"}

MAX_BODY_BYTES = 16 * 1024**4  # the central vault enforces its own per-route limits
BODY_QUEUE_CHUNKS = 8  # chunks buffered between the browser and the central vault


class RemoteSettingsError(ValueError):
    """remote_url or the token configuration cannot be used."""


@dataclass(frozen=True)
class RemoteToken:
    value: str | None
    source: str
    """Where it came from, for messages (never the token itself)."""


def resolve_token(settings: VaultSettings, env: dict[str, str] | None = None) -> RemoteToken:
    """The user's central-vault token: remote_token, else remote_token_file, else
    $MODELVAULT_TOKEN, else the single-user server's JupyterHub token.

    Raises:
        RemoteSettingsError: remote_token_file is set but cannot be read.
    """
    env = dict(os.environ) if env is None else env
    if settings.remote_token:
        return RemoteToken(settings.remote_token.strip(), "VaultSettings.remote_token")
    if settings.remote_token_file:
        try:
            text = Path(settings.remote_token_file).expanduser().read_text()
        except OSError as exc:
            raise RemoteSettingsError(
                f"Cannot read VaultSettings.remote_token_file: {exc.strerror}"
            ) from None
        lines = text.strip().splitlines()
        return RemoteToken(lines[0].strip() if lines else None, "VaultSettings.remote_token_file")
    if env.get("MODELVAULT_TOKEN", "").strip():
        return RemoteToken(env["MODELVAULT_TOKEN"].strip(), "$MODELVAULT_TOKEN")
    # Under JupyterHub, the single-user server's own Hub token says who the user is: a central
    # vault run as a Hub service (``serve --jupyterhub``) accepts it, so no token is copied.
    hub_token = env.get("JUPYTERHUB_API_TOKEN", "").strip()
    if hub_token:
        return RemoteToken(hub_token, "the JupyterHub sign-in ($JUPYTERHUB_API_TOKEN)")
    return RemoteToken(None, "$MODELVAULT_TOKEN")


def normalize_url(url: str) -> str:
    """``https://host/prefix`` → ``https://host/prefix/``, the form every path is joined to.

    Raises:
        RemoteSettingsError: not an absolute http(s) URL.
    """
    parsed = httpx.URL(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise RemoteSettingsError(
            f"VaultSettings.remote_url must be an absolute http(s) URL, got {url!r}."
        )
    return str(parsed.copy_with(query=None, fragment=None)).rstrip("/") + "/"


class CentralVault:
    """The central vault as seen from one user's Jupyter server: its URL, the user's token, one
    pooled HTTP client, and the last known state (so that the log says when it changes)."""

    def __init__(
        self,
        url: str,
        token: RemoteToken,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = normalize_url(url)
        self.token = token
        self.log = logger or log  # the Jupyter server's log, where operators look
        self.http = httpx.AsyncClient(
            # read: a bundle creation or a cold scan may take minutes before its first byte
            timeout=httpx.Timeout(connect=connect_timeout, read=600.0, write=600.0, pool=60.0),
            follow_redirects=False,
        )
        self.state = "unknown"

    def api_url(self, path: str) -> str:
        return f"{self.url}modelvault/api/{path}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.value}"} if self.token.value else {}

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One JSON API call with the user's token (httpx errors propagate)."""
        return await self.http.request(
            method, self.api_url(path), headers=self.auth_headers(), **kwargs
        )

    # -- what the user and the log are told --
    def unreachable_message(self, exc: BaseException) -> str:
        return (
            f"The central ModelVault at {self.url} is unreachable "
            f"({type(exc).__name__}: {exc or 'no answer'})."
        )

    def rejected_message(self, server_message: str) -> str:
        if not self.token.value:
            return (
                f"No token for the central ModelVault at {self.url}: set $MODELVAULT_TOKEN, "
                "VaultSettings.remote_token or VaultSettings.remote_token_file, then restart "
                f"the Jupyter server. The vault says: {server_message}"
            )
        return (
            f"The central ModelVault at {self.url} rejected the token from {self.token.source}: "
            f"{server_message} Ask for a new token, then restart the Jupyter server."
        )

    def note(self, state: str, message: str) -> None:
        """Log a problem once per change of state, not on every sidebar poll."""
        if state != self.state:
            if state == "ok":
                self.log.info("ModelVault: %s", message)
            else:
                self.log.warning("ModelVault: %s", message)
        self.state = state

    async def check(self) -> str:
        """Ask ``info`` with the user's token (it refuses a bad token); log and return the state."""
        try:
            r = await self.api("GET", "info", timeout=30)
        except httpx.HTTPError as exc:
            self.note("unreachable", self.unreachable_message(exc))
            return self.state
        body = _json_object(r.content)
        if r.status_code == 401 or (r.status_code == 200 and not body.get("user")):
            self.note("rejected", self.rejected_message(str(body.get("message", ""))))
        elif r.status_code != 200 or body.get("name") != "ModelVault":
            self.note(
                "unreachable",
                f"{self.url} does not look like a ModelVault: modelvault/api/info answered "
                f"{r.status_code}.",
            )
        else:
            user = body["user"]
            self.note(
                "ok",
                f"using the central vault at {self.url} (version {body.get('version')}) as "
                f"{user.get('name')!r}, scope {user.get('scope')}",
            )
        return self.state

    async def aclose(self) -> None:
        await self.http.aclose()


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content or b"null")
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


class CentralKernelTokens:
    """Kernel tokens minted on the central vault with the user's token (see ``kernel_env``).

    Any user token may mint a narrower child of itself there (read scope, expiring no later than
    the user's token, revoked with it). A token that cannot (itself a child), or an unreachable
    central vault, leaves the kernel with the user's own token, and the log says why.
    """

    def __init__(self, remote: CentralVault) -> None:
        self.remote = remote

    async def mint(
        self, *, name: str, description: str, ttl_seconds: float, kernel_id: str
    ) -> KernelToken:
        body = {
            "name": name,
            "scope": "read",
            "expires_in_seconds": ttl_seconds,
            "description": description,
        }
        try:
            r = await self.remote.api("POST", "tokens", json=body)
        except httpx.HTTPError as exc:
            reason = self.remote.unreachable_message(exc)
        else:
            issued = _json_object(r.content)
            if r.status_code == 201 and issued.get("token"):
                return KernelToken(str(issued["token"]), str(issued["id"]))
            reason = (
                f"the central vault did not let the user's token mint a kernel token "
                f"({r.status_code}: {issued.get('message', r.reason_phrase)})"
            )
        if not self.remote.token.value:
            raise RuntimeError(f"no token for kernel {kernel_id}: {reason}")
        self.remote.log.warning(
            "ModelVault: kernel %s gets the user's own token, not a kernel token: %s",
            kernel_id,
            reason,
        )
        return KernelToken(self.remote.token.value, None)

    async def revoke(self, token_id: str, kernel_id: str) -> None:
        r = await self.remote.api("DELETE", f"tokens/{token_id}")
        if r.status_code not in (204, 404):
            self.remote.log.warning(
                "ModelVault: the central vault did not revoke kernel %s's token %s (%s)",
                kernel_id,
                token_id,
                r.status_code,
            )


@web.stream_request_body
class SidebarProxyHandler(APIHandler):
    """``{base_url}modelvault/api/<path>`` → ``{remote_url}modelvault/api/<path>``, streamed.

    The request body flows to the central vault as it arrives (a bounded queue gives
    backpressure), the response back chunk by chunk. Status, headers and error JSON pass through,
    except a 401, whose message is rewritten to say that the *configured* token was rejected
    (the browser's own Jupyter login is fine, or it would not have got here).
    """

    auth_resource = "modelvault"

    def initialize(self, remote: CentralVault) -> None:
        self.remote = remote
        self._body: asyncio.Queue[bytes | None] | None = None
        self._upstream: asyncio.Future[httpx.Response] | None = None
        self._prepared = False

    def finish(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        if not self._prepared:
            # refused before the body was read: tornado closes the connection; say so, or the
            # browser's next request on it fails
            self.set_header("Connection", "close")
        return super().finish(*args, **kwargs)

    async def prepare(self) -> None:  # type: ignore[override]
        await self._prepare()
        self._prepared = True

    async def _prepare(self) -> None:
        await super().prepare()
        if self._finished:  # Jupyter answered already (login redirect)
            return
        # Authorise here, not on the verb: with a streamed body the verb runs only after the
        # body, which would already be on its way to the central vault.
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "Log in to Jupyter first.")
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "GET", "write")
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, action, self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(403, f"Not authorised to {action} ModelVault.")
        self.request.connection.set_max_body_size(MAX_BODY_BYTES)  # type: ignore[union-attr]
        headers = self.request.headers
        content: AsyncIterator[bytes] | None = None
        if (
            "Transfer-Encoding" in headers
            or (declared_length(headers.get("Content-Length")) or 0) > 0
        ):
            self._body = asyncio.Queue(maxsize=BODY_QUEUE_CHUNKS)
            content = _drain(self._body)
        forwarded = end_to_end(headers.get_all(), headers.get("Connection"), REQUEST_DROP)
        forwarded += list(self.remote.auth_headers().items())
        forwarded.append(("X-Forwarded-For", self.request.remote_ip or ""))
        # the raw path (tornado's path_args are decoded), so %2F stays one segment
        path = self.request.path[len(f"{self.base_url.rstrip('/')}/modelvault/api/") :]
        url = self.remote.api_url(path) + (f"?{self.request.query}" if self.request.query else "")
        request = self.remote.http.build_request(
            self.request.method or "GET", url, headers=forwarded, content=content
        )
        self._upstream = asyncio.ensure_future(self.remote.http.send(request, stream=True))
        if self._body is not None:
            self._upstream.add_done_callback(lambda _: _discard(self._body))

    async def data_received(self, chunk: bytes) -> None:
        if self._body is not None and self._upstream is not None and not self._upstream.done():
            await self._body.put(chunk)

    async def _forward(self, *_: str) -> None:
        assert self._upstream is not None
        if self._body is not None:
            await self._body.put(None)
        try:
            response = await self._upstream
        except httpx.HTTPError as exc:
            message = self.remote.unreachable_message(exc)
            self.remote.note("unreachable", message)
            timed_out = isinstance(exc, httpx.TimeoutException)
            self._json_error(504 if timed_out else 502, "UpstreamUnavailable", message)
            return
        try:
            if response.status_code == 401:
                body = _json_object(await response.aread())
                message = self.remote.rejected_message(str(body.get("message", "")))
                self.remote.note("rejected", message)
                self._json_error(401, str(body.get("code") or "Unauthenticated"), message)
                return
            if response.status_code < 500 and self.remote.state in ("unreachable", "rejected"):
                self.remote.note("ok", f"the central vault at {self.remote.url} answers again")
            await self._relay(response)
        finally:
            await response.aclose()

    # authorised in prepare(); the marker tells jupyter_server these verbs need a login
    get = head = post = put = patch = delete = web.authenticated(_forward)

    async def _relay(self, response: httpx.Response) -> None:
        self.set_status(response.status_code, response.reason_phrase or "Unknown")
        seen: set[str] = set()
        items = response.headers.multi_items()
        for name, value in end_to_end(items, response.headers.get("Connection"), RESPONSE_DROP):
            key = name.lower()
            # set first: it replaces this server's defaults (Content-Type text/html)
            (self.add_header if key in seen else self.set_header)(name, value)
            seen.add(key)
        try:
            # raw: a compressed body stays compressed, with its Content-Encoding and length
            async for chunk in response.aiter_raw():
                self.write(chunk)
                await self.flush()
        except iostream.StreamClosedError:
            return  # the browser went away
        except httpx.HTTPError as exc:
            # Headers are out: the only honest signal left is a broken connection, so a cut-off
            # download never looks complete (the central vault cuts blocked files the same way).
            self.remote.log.warning(
                "ModelVault: %s %s cut short: %s", self.request.method, self.request.path, exc
            )
            self._finished = True
            self.request.connection.close()  # type: ignore[union-attr]
            return
        # APIHandler.finish would force application/json on bodiless answers (HEAD, 204)
        self.finish(set_content_type=response.headers.get("Content-Type", "application/json"))

    def compute_etag(self) -> None:
        return None  # the central vault's ETag, if any, passes through; never one of ours

    def _json_error(self, status: int, code: str, message: str) -> None:
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(
            json.dumps({"message": message, "reason": self._reason, "code": code, "details": {}})
        )

    def on_connection_close(self) -> None:
        # the browser gave up mid-upload: stop feeding the central vault
        if self._upstream is not None and not self._upstream.done():
            self._upstream.cancel()


def end_to_end(
    items: Iterable[tuple[str, str]], connection: str | None, drop: frozenset[str]
) -> list[tuple[str, str]]:
    """Headers worth forwarding: not in ``drop``, nor named by ``Connection`` (RFC 9110 7.6.1)."""
    named = {t.strip().lower() for t in (connection or "").split(",")}
    return [(k, v) for k, v in items if k.lower() not in drop and k.lower() not in named]


async def _drain(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    while (chunk := await queue.get()) is not None:
        yield chunk


def _discard(queue: asyncio.Queue[bytes | None] | None) -> None:
    """Once the upstream request is over, empty the queue so that no producer waits forever."""
    while queue is not None and not queue.empty():
        queue.get_nowait()


class CentralOnlyHandler(APIHandler):
    """Hub and PyPI paths on a server using a central vault: say where they live."""

    auth_resource = "modelvault"

    def initialize(self, remote: CentralVault) -> None:
        self.remote = remote

    @web.authenticated
    def get(self, path: str) -> None:
        message = (
            f"This Jupyter server uses the central ModelVault: use {self.remote.url}{path} "
            "(kernels started here already point there)."
        )
        self.set_status(404)
        self.set_header("X-Error-Message", message)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"message": message, "code": "NotFound"}))

    head = post = put = get


def central_proxy_routes(remote: CentralVault) -> list[tuple[str, type[web.RequestHandler], Any]]:
    """Routes relative to base_url (ExtensionApp prefixes it)."""
    kwargs = {"remote": remote}
    return [
        (r"modelvault/api/(.*)", SidebarProxyHandler, kwargs),
        (r"(modelvault/(?:hf|pypi)/.*)", CentralOnlyHandler, kwargs),
    ]
