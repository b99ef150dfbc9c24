"""What both Xet sides share: where the CAS of a repository is, how a token is answered, and the
base of the CAS routes that take a Xet token (``Authorization: Bearer``) instead of a vault token.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...core.xet.tokens import Scope, XetGrant
from ...errors import AuthenticationError, PermissionDeniedError
from ..hf.base import HfHandler

HEADER_CAS_URL = "X-Xet-Cas-Url"
HEADER_ACCESS_TOKEN = "X-Xet-Access-Token"  # noqa: S105 - a header name
HEADER_TOKEN_EXPIRATION = "X-Xet-Token-Expiration"  # noqa: S105 - a header name


def cas_url(handler: HfHandler, repository: str) -> str:
    """The CAS base URL of a repository key: absolute, under its Hub endpoint (as LFS upload URLs
    are built)."""
    return f"{handler.endpoint(repository)}/cas"


def send_token(handler: HfHandler, token: str, exp: int, url: str) -> None:
    """A token answer in both forms clients read: the JSON body (hf_xet) and the headers
    (huggingface_hub's first ``xet-read-token`` call)."""
    handler.set_header(HEADER_CAS_URL, url)
    handler.set_header(HEADER_ACCESS_TOKEN, token)
    handler.set_header(HEADER_TOKEN_EXPIRATION, str(exp))
    handler.set_header("Cache-Control", "no-store")
    handler.write_json({"accessToken": token, "exp": exp, "casUrl": url})


class CasHandler(HfHandler):
    """A CAS route: the bearer is a Xet token for the repository in the path, with ``scope``."""

    scope: ClassVar[Scope] = "read"
    actions: ClassVar[dict[str, Any]] = {}  # the Xet token decides (see _authenticate)
    grant: XetGrant

    async def _authenticate(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        source = self.request.remote_ip or ""
        self.vault.auth_throttle.check(source)
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("A Xet token is required (Authorization: Bearer).")
        try:
            grant = self.vault.xet_tokens.verify(value.strip(), self.scope)
        except AuthenticationError as exc:
            self.vault.auth_throttle.failed(source, exc.message)
            raise
        if grant.repository != self.path_args[0]:
            raise PermissionDeniedError("This Xet token is for another repository.")
        self.grant = grant
