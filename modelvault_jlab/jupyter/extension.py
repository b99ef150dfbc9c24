"""The Jupyter server extension: ModelVault inside JupyterLab (``jupyter lab``) or alone
(``jupyter modelvault``), with the same routes as ``modelvault serve``."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import ensure_async
from tornado.web import HTTPError, RequestHandler

from .. import __version__
from ..bootstrap import open_vault
from ..config import VaultSettings
from ..core.identity import Principal, jupyter_user
from ..core.vault import Vault
from ..web.access_log import redacting
from ..web.base import WebContext
from ..web.metrics import counting
from ..web.routes import route_table

if TYPE_CHECKING:
    from .central_proxy import CentralVault
    from .kernel_env import KernelEnvHook

AUTH_RESOURCE = "modelvault"
"""The resource jupyter_server's ``Authorizer`` is asked about for every ModelVault request."""


def jupyter_api_handler(handler: type[RequestHandler]) -> type[RequestHandler]:
    """Let the logged-in Jupyter user stand in for a vault token on the JSON API.

    The result runs Jupyter's own ``prepare`` (identity provider, XSRF check for requests without
    a vault token, host check) before the vault's; vault tokens keep working on the same routes.
    Jupyter's ``Authorizer`` decides what the user may do: the request's own action (read for
    GET/HEAD, write otherwise) must be authorised on the ``modelvault`` resource, and the user
    administers the vault only if ``write`` is, else reads as a read-scoped principal.
    """

    async def ambient_principal(self: Any) -> Principal | None:
        user = self.current_user
        if user is None:
            return None

        async def allowed(action: str) -> bool:
            return bool(
                await ensure_async(self.authorizer.is_authorized(self, user, action, AUTH_RESOURCE))
            )

        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "GET", "write")
        if not await allowed(action):
            raise HTTPError(403, f"Jupyter does not authorise this user to {action} ModelVault.")
        principal = jupyter_user(getattr(user, "username", None) or str(user))
        if action != "write" and not await allowed("write"):
            principal = dataclasses.replace(principal, scope="read")
        return principal

    return type(
        f"Jupyter{handler.__name__}",
        (handler, JupyterHandler),
        {"ambient_principal": ambient_principal, "auth_resource": AUTH_RESOURCE},
    )


class ModelVaultApp(ExtensionApp):
    """ModelVault as a Jupyter server extension."""

    name = "modelvault"
    extension_url = "/modelvault/api/info"
    load_other_extensions = True
    classes = [VaultSettings]

    vault: Vault | None = None
    remote: CentralVault | None = None
    """Set instead of ``vault`` when ``remote_url`` names a central vault (``central_proxy.py``)."""
    _kernel_hook: KernelEnvHook | None = None

    def initialize_settings(self) -> None:
        self.vault_settings = VaultSettings(parent=self)
        if self.vault_settings.remote_url:
            from .central_proxy import CentralVault, resolve_token

            self.remote = CentralVault(
                self.vault_settings.remote_url, resolve_token(self.vault_settings), self.log
            )
            self.log.info(
                "ModelVault %s: using the central vault at %s (token from %s); no local storage",
                __version__,
                self.remote.url,
                self.remote.token.source,
            )
            if not self.remote.token.value:
                self.log.warning(
                    "ModelVault: no token for the central vault: set $MODELVAULT_TOKEN, "
                    "VaultSettings.remote_token or VaultSettings.remote_token_file"
                )
            self._install_kernel_env(self.remote.url)
            return
        self.vault = open_vault(self.vault_settings)
        self.vault.recover()
        self.log.info(
            "ModelVault %s serving data from %s", __version__, self.vault_settings.data_dir
        )
        self._install_kernel_env(None)

    def _install_kernel_env(self, central_url: str | None) -> None:
        """Kernels started by this server get the vault environment (see ``kernel_env``)."""
        settings = self.vault_settings
        serverapp = self.serverapp
        if not settings.kernel_env_enabled or serverapp is None:
            return
        from . import kernel_env

        tokens: kernel_env.KernelTokens
        if self.remote is not None:
            from .central_proxy import CentralKernelTokens

            tokens = CentralKernelTokens(self.remote)
        else:
            assert self.vault is not None
            tokens = kernel_env.LocalKernelTokens(self.vault, kernel_env.default_user())
        hook = kernel_env.KernelEnvHook(
            tokens,
            kernel_env.KernelEnvOptions(
                hf_repository=settings.kernel_hf_repository,
                pypi_repository=settings.kernel_pypi_repository,
                token_ttl_seconds=settings.kernel_token_ttl_seconds,
                extra=dict(settings.kernel_env_extra),
                root_dir=str(getattr(serverapp, "root_dir", "") or ""),
            ),
            lambda: (
                central_url or kernel_env.loopback_base_url(serverapp, settings.public_url or None)
            ),
            self.log,
        )
        if kernel_env.install(getattr(serverapp, "kernel_manager", None), hook):
            self._kernel_hook = hook
            self.log.info("ModelVault: kernels get a vault environment and their own token")

    def initialize_handlers(self) -> None:
        if self.remote is not None:
            from .central_proxy import central_proxy_routes

            self.handlers.extend(central_proxy_routes(self.remote))
            return
        assert self.vault is not None
        base_url = self.serverapp.base_url if self.serverapp else "/"
        context = WebContext(
            base_url=base_url,
            public_url=self.vault_settings.public_url or None,
            download_chunk_bytes=self.vault_settings.download_chunk_bytes,
            request_body_max_bytes=self.vault_settings.request_body_max_bytes,
            version=__version__,
        )
        for pattern, handler, kwargs in route_table(
            {"vault": self.vault, "context": context}, wrap_api=jupyter_api_handler
        ):
            self.handlers.append((pattern, handler, kwargs))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        await super()._start_jupyter_server_extension(serverapp)  # type: ignore[no-untyped-call]
        settings = serverapp.web_app.settings  # tokens in URLs never reach the access log
        settings["log_function"] = redacting(settings.get("log_function"))
        if self.vault is not None and self.vault.options.metrics_enabled:  # web/metrics.py
            settings["log_function"] = counting(self.vault.metrics, settings["log_function"])
        self._background: asyncio.Task[Any]
        if self.remote is not None:
            # reachable, and the token accepted? Logged, never fatal: the sidebar says it too
            self._background = asyncio.create_task(self.remote.check())
        elif self.vault is not None:
            self._background = asyncio.create_task(self.vault.run_background())

    async def stop_extension(self) -> None:
        if self._kernel_hook is not None:
            await self._kernel_hook.revoke_all()
        if self.remote is not None:
            await self.remote.aclose()
        if self.vault is not None:
            await self.vault.aclose()


main = launch_new_instance = ModelVaultApp.launch_instance
