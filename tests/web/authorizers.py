"""A Jupyter ``Authorizer`` for tests, loaded by a Jupyter server subprocess
(``--ServerApp.authorizer_class=tests.web.authorizers.ReadOnlyAuthorizer``)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth import Authorizer


class ReadOnlyAuthorizer(Authorizer):
    """A read-only collaborator: every resource may be read, nothing written or executed."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"
