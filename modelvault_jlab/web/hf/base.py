"""The base of every Hub handler: Hub-style errors (``X-Error-Code``), the repo a route names,
stale-cache warnings; helpers shared by the Hub routes.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ...core.hub.refs import HubRef, Resolved
from ...core.identity import Action
from ...errors import (
    EntryNotFoundError,
)
from ...protocols import hf as wire
from ..base import VaultHandler
from ..errors import hf_error_code


class HfHandler(VaultHandler):
    """Hub routes: errors in the Hub's own shape."""

    actions: ClassVar[dict[str, Action | None]] = {
        "GET": "read",
        "HEAD": "read",
        "POST": "write",
        "PUT": "write",
        "DELETE": "write",
    }

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status, message, exc = self.error_details(kwargs)
        self.set_status(status)
        code = hf_error_code(exc) if exc is not None else None
        if code:
            self.set_header(wire.HEADER_ERROR_CODE, code)
        # The client shows this text verbatim.
        self.set_header(wire.HEADER_ERROR_MESSAGE, header_text(message))
        if isinstance(exc, EntryNotFoundError) and exc.details.get("commit"):
            # Lets the client cache the absence (.no_exist/<sha>/<path>) instead of re-probing.
            self.set_header(wire.HEADER_REPO_COMMIT, exc.details["commit"])
        if status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="ModelVault"')
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        if self.request.method == "HEAD":
            self.finish()
            return
        self.finish(json.dumps({"error": message}))

    def endpoint(self, repository: str) -> str:
        return f"{self.public_base()}modelvault/hf/{repository}"

    def hub_ref(self, repository: str, repo_type: str | None, namespace: str, name: str) -> HubRef:
        return HubRef.parse(repository, repo_type, f"{namespace}/{name}")

    def repo_url(self, ref: HubRef) -> str:
        return f"{self.endpoint(ref.repository)}/{wire.TYPE_PREFIX[ref.repo_type]}{ref.repo_id}"

    def warn_if_stale(self, resolved: Resolved) -> None:
        if resolved.warning:
            # huggingface_hub logs X-HF-Warning once per topic.
            self.add_header("X-HF-Warning", f"ModelVault; {header_text(resolved.warning)}")

    def flag(self, name: str) -> bool:
        return self.get_argument(name, "false").lower() in ("1", "true", "yes")


def header_text(text: str) -> str:
    """Header values must be one line of latin-1."""
    return " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")


def plural_type(repo_types: str) -> str:
    return wire.TYPE_FROM_PLURAL[repo_types]
