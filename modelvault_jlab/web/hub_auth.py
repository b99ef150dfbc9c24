"""Sign-in through JupyterHub: the standalone vault as a JupyterHub service.

With ``modelvault serve --jupyterhub`` the vault accepts, besides its own tokens:

- a JupyterHub API token in ``Authorization: token|Bearer …`` (a single-user server's
  ``$JUPYTERHUB_API_TOKEN``, which the extension's central-vault proxy forwards, or a token a
  user made on the Hub's token page), checked with the Hub by ``HubAuth.user_for_token``;
- in a browser, the OAuth cookie ``HubOAuth`` sets after ``{base_url}modelvault/hub/login``
  (the Hub's OAuth flow, ending at ``{base_url}modelvault/oauth_callback``). The cookie is
  accepted on GET and HEAD only: a cross-site form can make a browser send it, so it never
  authorises a change (changes need a token in ``Authorization``, which a forged request
  cannot carry).

The Hub token must carry ``access:services!service=<this service>`` (or ``access:services``),
as for any JupyterHub service. A Hub admin administers the vault; any other Hub user is ruled by
the permission targets (``core.permissions``), with the groups the Hub reports. Vault tokens keep
working unchanged (kernels keep their minted per-kernel tokens).
"""

from __future__ import annotations

import logging
import os
import secrets
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.httputil import url_concat

from ..core.identity import Principal
from ..core.vault import Vault
from ..errors import AuthenticationError

log = logging.getLogger("modelvault")

SAFE_METHODS = frozenset({"GET", "HEAD"})
HUB_CACHE_SECONDS = 60
"""How long the Hub's answer about a token is trusted (a revoked Hub token stops working within
this delay; HubAuth's default is 300)."""


class HubIdentity:
    """Turns a request's JupyterHub credential into a principal."""

    def __init__(self, vault: Vault, hub_auth: HubOAuth) -> None:
        self.vault = vault
        self.hub_auth = hub_auth

    @classmethod
    def from_environment(cls, vault: Vault, base_url: str) -> HubIdentity:
        """HubOAuth configured as JupyterHub configures every service: ``JUPYTERHUB_API_TOKEN``,
        ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_CLIENT_ID``, ``JUPYTERHUB_SERVICE_PREFIX``,
        ``JUPYTERHUB_OAUTH_CALLBACK_URL`` (set by the Hub for a managed service, by the deployer
        for an external one). The OAuth cookies' path is the vault's own ``base_url``.

        Raises:
            ValueError: the environment does not describe a JupyterHub service.
        """
        missing = [
            name
            for name in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL")
            if not os.environ.get(name)
        ]
        if missing:
            raise ValueError(
                "--jupyterhub needs the environment of a JupyterHub service: "
                + ", ".join(missing)
                + " not set (see docs/deployment.md)."
            )
        hub_auth = HubOAuth(cache_max_age=HUB_CACHE_SECONDS, base_url=base_url)
        if not hub_auth.access_scopes:  # HubAuth would refuse every token: say why at start
            raise ValueError(
                "--jupyterhub needs JUPYTERHUB_SERVICE_NAME (or JUPYTERHUB_OAUTH_ACCESS_SCOPES): "
                "the scope a Hub token needs to reach this service."
            )
        return cls(vault, hub_auth)

    async def principal(self, handler: web.RequestHandler) -> Principal | None:
        """The Hub user behind the request's credential; None when it carries none the Hub
        issued (no credential, or a vault token: the vault's own check handles those).

        Raises:
            AuthenticationError: a token the Hub does not know, or one not allowed this service.
            TooManyRequestsError: too many failures from this address lately.
        """
        token = self.hub_auth.get_token(handler, in_cookie=False)
        if token and self.vault.identity.looks_like_token(token):
            return None
        if not token and (handler.request.method or "GET") in SAFE_METHODS:
            token = self.hub_auth.get_token(handler, in_cookie=True)
        if not token:
            return None
        source = handler.request.remote_ip or ""
        self.vault.auth_throttle.check(source)
        model = await self.hub_auth.user_for_token(token, sync=False)
        if not model or model.get("kind", "user") != "user":
            message = "Invalid token: JupyterHub does not know it (or it is not a user's)."
            self.vault.auth_throttle.failed(source, message)
            raise AuthenticationError(message)
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            message = (
                f"JupyterHub does not let this token access the ModelVault service (it needs "
                f"one of {sorted(self.hub_auth.access_scopes)})."
            )
            self.vault.auth_throttle.failed(source, message)
            raise AuthenticationError(message)
        return self.vault_principal(model)

    def vault_principal(self, model: dict[str, Any]) -> Principal:
        """A Hub user model as a principal: Hub admins administer the vault, others are ruled by
        the permission targets (their Hub groups are recorded for the tokens they mint)."""
        name = str(model["name"])
        groups = frozenset(str(g) for g in model.get("groups") or [])
        if model.get("admin"):
            return Principal(name=name, scope="admin", kind="hub", groups=groups)
        self.vault.permissions.record_hub_groups(name, groups)
        return Principal(name=name, scope="admin", kind="hub", user=name, groups=groups)


def _safe_next(url: str | None, default: str) -> str:
    """Only a path on this server: never an open redirect to another origin."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


class HubLoginHandler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]
    """Start the Hub's OAuth flow; back at ``next`` (a path here) once signed in."""

    def initialize(self, identity: HubIdentity, base_url: str) -> None:
        self.hub_auth = identity.hub_auth
        self._base_url = base_url

    async def get(self) -> None:
        default = f"{self._base_url}modelvault/api/info"
        next_url = _safe_next(self.get_argument("next", None), default)
        state = self.hub_auth.set_state_cookie(self, next_url=next_url)
        self.redirect(url_concat(self.hub_auth.login_url, {"state": state}))


class HubCallbackHandler(HubOAuthCallbackHandler):  # type: ignore[misc]
    """JupyterHub's own callback handler (checks state, exchanges the code, sets the cookie)."""

    def initialize(self, identity: HubIdentity, base_url: str) -> None:
        self.hub_auth = identity.hub_auth


def hub_routes(base_url: str, identity: HubIdentity | None) -> list[tuple[str, Any, Any]]:
    """The OAuth routes, when the vault signs users in through JupyterHub."""
    if identity is None:
        return []
    kwargs = {"identity": identity, "base_url": base_url}
    return [
        (base_url + r"modelvault/hub/login/?$", HubLoginHandler, kwargs),
        (base_url + r"modelvault/oauth_callback/?$", HubCallbackHandler, kwargs),
    ]


def cookie_secret() -> bytes:
    """The key signing the OAuth cookie: ``$MODELVAULT_COOKIE_SECRET`` (hex, shared by every
    replica behind one URL), else random for this process (users sign in again after a
    restart, which the Hub does without asking)."""
    configured = os.environ.get("MODELVAULT_COOKIE_SECRET", "")
    return bytes.fromhex(configured) if configured else secrets.token_bytes(32)
