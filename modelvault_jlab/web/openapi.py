"""``GET openapi.json``: the OpenAPI description of the JSON API (``openapi.yaml`` beside this
module, the one source the frontend's wire types are generated from)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from .api.base import ApiHandler
from .base import vault_auth

API_PATH = "modelvault/api"
"""Where the described paths live, below the server's base URL."""


@functools.cache
def load_spec() -> dict[str, Any]:
    """The description as shipped in the package (parsed once)."""
    text = resources.files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


class OpenApiHandler(ApiHandler):
    """Public: the description is the same for every server and holds nothing secret."""

    anonymous_allowed = True

    @vault_auth
    def get(self) -> None:
        server = {"url": self.public_base() + API_PATH}
        self.write_json({**load_spec(), "servers": [server]})
