"""The environment every kernel started by a Jupyter server with ModelVault gets.

Before any user code runs, a kernel finds ``HF_ENDPOINT``/``HF_TOKEN`` pointing at the vault (the
token is a read token minted for that kernel, never the operator's), ``PIP_INDEX_URL``/
``UV_INDEX_URL`` when a default PyPI repository is configured, and timeouts long enough for a
cold, scanned fetch. Xet stays on: the vault runs a Xet CAS (``core/xet``), so the stock client
uploads and downloads large files through it. The token's description records the kernel id and the
notebook (or console) path, so every download it makes is an audit event that names them.

How it is hooked: :func:`install` wraps ``start_kernel`` and ``shutdown_kernel`` of the server's
``kernel_manager`` *instance*. Both the REST API (``POST /api/kernels``) and sessions (JupyterLab
opening a notebook) go through that one object, and wrapping the instance keeps whatever kernel
manager class the operator configured (pending kernels, a gateway, a custom subclass) — unlike
replacing ``ServerApp.kernel_manager_class``, which would fight other extensions and user config,
or a kernel provisioner, which never learns the notebook path. Restarts keep the environment (the
kernel manager re-uses its launch arguments), so a restarted kernel keeps its token.
With a central vault (``VaultSettings.remote_url``), the variables point straight at it and the
token is minted there with the user's token (``central_proxy.CentralKernelTokens``), falling
back to the user's own token when that token may not mint. Only ``extension.py`` and
``central_proxy.py`` import this module.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from ..core.identity import SYSTEM
from ..core.vault import Vault

log = logging.getLogger("modelvault")

KERNEL_TOKEN_PREFIX = "kernel:"  # noqa: S105 - a name prefix, not a secret
"""Names of kernel tokens start with this (the lineage API recognises them)."""


@dataclass(frozen=True)
class KernelEnvOptions:
    """What the operator configured (from ``VaultSettings``)."""

    hf_repository: str
    pypi_repository: str
    token_ttl_seconds: float
    extra: Mapping[str, str]
    root_dir: str = ""
    """The server's root_dir: notebook paths are recorded relative to it (as Jupyter shows them)."""


def vault_env(base_url: str, token: str, options: KernelEnvOptions) -> dict[str, str]:
    """The variables a kernel gets, for a server reachable at ``base_url`` (ending with '/')."""
    env: dict[str, str] = {
        "MODELVAULT_URL": base_url,
        "MODELVAULT_TOKEN": token,
    }
    if options.hf_repository:
        env["HF_ENDPOINT"] = f"{base_url}modelvault/hf/{options.hf_repository}"
        env["HF_TOKEN"] = token
    if options.pypi_repository:
        parts = urlsplit(f"{base_url}modelvault/pypi/{options.pypi_repository}/simple/")
        netloc = f"__token__:{quote(token, safe='')}@{parts.netloc}"
        index = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        env["PIP_INDEX_URL"] = index
        env["UV_INDEX_URL"] = index
    env.update({str(k): str(v) for k, v in options.extra.items()})
    return env


def token_description(kernel_id: str, notebook: str | None, kernel_name: str | None) -> str:
    """JSON the lineage API reads back: which kernel, serving which notebook."""
    return json.dumps(
        {"kernel_id": kernel_id, "notebook": notebook, "kernel_name": kernel_name},
        sort_keys=True,
    )


def parse_description(description: str) -> dict[str, Any]:
    """The kernel facts in a token description ({} for tokens not minted for a kernel)."""
    with contextlib.suppress(ValueError):
        value = json.loads(description or "")
        if isinstance(value, dict) and "kernel_id" in value:
            return value
    return {}


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "jupyter"


@dataclass(frozen=True)
class KernelToken:
    """The token a kernel gets."""

    secret: str
    token_id: str | None
    """None when it was not minted for the kernel (the user's own): never revoked by us."""


class KernelTokens(Protocol):
    """Where kernel tokens are minted and revoked: the embedded vault or a central one."""

    async def mint(
        self, *, name: str, description: str, ttl_seconds: float, kernel_id: str
    ) -> KernelToken: ...

    async def revoke(self, token_id: str, kernel_id: str) -> None: ...


class LocalKernelTokens:
    """Read tokens issued by the embedded vault, in the name of the server's user."""

    def __init__(self, vault: Vault, user: str) -> None:
        self.vault = vault
        self.user = user

    async def mint(
        self, *, name: str, description: str, ttl_seconds: float, kernel_id: str
    ) -> KernelToken:
        issued = self.vault.identity.issue_token(
            name=name,
            scope="read",
            created_by=self.user,
            expires_in_seconds=ttl_seconds,
            description=description,
        )
        self.vault.audit.record(
            SYSTEM,
            "token.create",
            subject=issued.record.id,
            scope="read",
            kernel_id=kernel_id,
            notebook=parse_description(description).get("notebook"),
            user=self.user,
        )
        return KernelToken(issued.secret, issued.record.id)

    async def revoke(self, token_id: str, kernel_id: str) -> None:
        self.vault.identity.revoke(token_id)
        self.vault.audit.record(SYSTEM, "token.revoke", subject=token_id, kernel_id=kernel_id)


class KernelEnvHook:
    """Mints a token per kernel and adds the vault environment to its launch."""

    def __init__(
        self,
        tokens: KernelTokens,
        options: KernelEnvOptions,
        base_url: Callable[[], str],
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self.log = logger or log
        self.minter = tokens
        self.options = options
        self.base_url = base_url
        self.tokens: dict[str, str] = {}  # kernel id -> token id

    async def env_for(
        self, kernel_id: str, notebook: str | None, kernel_name: str | None
    ) -> dict[str, str]:
        token = await self.minter.mint(
            name=f"{KERNEL_TOKEN_PREFIX}{notebook or kernel_id}"[:100],
            description=token_description(kernel_id, notebook, kernel_name),
            ttl_seconds=self.options.token_ttl_seconds,
            kernel_id=kernel_id,
        )
        if token.token_id is not None:
            self.tokens[kernel_id] = token.token_id
        return vault_env(self.base_url(), token.secret, self.options)

    def api_path(self, path: str | None) -> str | None:
        root = self.options.root_dir
        if not path or not root or not os.path.isabs(path):
            return path
        rel = os.path.relpath(path, root)
        return path if rel.startswith("..") else rel.replace(os.sep, "/")

    async def revoke(self, kernel_id: str) -> None:
        token_id = self.tokens.pop(kernel_id, None)
        if token_id is None:
            return
        try:
            await self.minter.revoke(token_id, kernel_id)
        except Exception:
            # it still expires (token_ttl_seconds); a shutdown must not fail for it
            self.log.warning("ModelVault: could not revoke the token of kernel %s", kernel_id)

    async def revoke_all(self) -> None:
        """At server shutdown: jupyter_server stops extensions before it shuts kernels down, so
        their tokens are revoked now, while the vault (or the HTTP client) is still open."""
        for kernel_id in list(self.tokens):
            await self.revoke(kernel_id)

    def wrap_start(self, start: Callable[..., Awaitable[str]], km: Any) -> Callable[..., Any]:
        async def start_kernel(*args: Any, kernel_id: str | None = None, **kwargs: Any) -> str:
            if kernel_id is None or kernel_id not in km:
                kernel_id = kernel_id or str(uuid.uuid4())
                base_env = kwargs.get("env")
                env = dict(base_env if isinstance(base_env, Mapping) else os.environ)
                # JPY_SESSION_NAME: the notebook or console path (set for sessions by
                # jupyter_server); a bare POST /api/kernels only has the working directory.
                notebook = self.api_path(env.get("JPY_SESSION_NAME") or kwargs.get("path"))
                try:
                    env.update(await self.env_for(kernel_id, notebook, kwargs.get("kernel_name")))
                    kwargs["env"] = env
                except Exception:
                    # Never break kernels for the vault's sake: start it as Jupyter would.
                    self.log.exception("ModelVault: no vault environment for kernel %s", kernel_id)
            return await start(*args, kernel_id=kernel_id, **kwargs)

        return start_kernel

    def wrap_shutdown(self, shutdown: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return await shutdown(kernel_id, *args, **kwargs)
            finally:
                if not kwargs.get("restart"):
                    await self.revoke(kernel_id)

        return shutdown_kernel


def install(kernel_manager: Any, hook: KernelEnvHook) -> bool:
    """Wrap the kernel manager instance's ``start_kernel``/``shutdown_kernel`` (once)."""
    if kernel_manager is None or getattr(kernel_manager, "_modelvault_hook", None) is not None:
        return False
    kernel_manager.start_kernel = hook.wrap_start(kernel_manager.start_kernel, kernel_manager)
    kernel_manager.shutdown_kernel = hook.wrap_shutdown(kernel_manager.shutdown_kernel)
    kernel_manager._modelvault_hook = hook
    return True


def loopback_base_url(serverapp: Any, public_url: str | None) -> str:
    """How a kernel on this machine reaches the server (``public_url`` when configured)."""
    if public_url:
        return public_url.rstrip("/") + "/"
    scheme = "https" if getattr(serverapp, "certfile", None) else "http"
    ip = str(getattr(serverapp, "ip", "") or "127.0.0.1")
    host = "[::1]" if ":" in ip else "127.0.0.1"
    base = str(getattr(serverapp, "base_url", "/") or "/")
    return f"{scheme}://{host}:{serverapp.port}{base}"
