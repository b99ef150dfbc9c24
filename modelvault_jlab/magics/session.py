"""What every ``%modelvault`` subcommand shares: its result type, its usage error, its client."""

from __future__ import annotations

from .client import VaultClient
from .display import JsonDocument, Table

Result = Table | JsonDocument


class UsageError(Exception):
    """Bad arguments to a subcommand; the message includes the usage."""


class _ClientContext:
    def __enter__(self) -> VaultClient:
        self.client = VaultClient.from_env()
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def _client() -> _ClientContext:
    return _ClientContext()
