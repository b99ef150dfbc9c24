"""Upstream credentials in repository configs: masked in every view, encrypted at rest.

A setting whose name contains ``token``, ``password`` or ``secret`` is a secret
(``upstream_token`` of hf-remote, ``upstream_password`` of pypi-remote). Clients read it back as
``***`` (and may send ``***`` back to keep it). The database stores it sealed with Fernet
(AES-128-CBC + HMAC-SHA256) under a key kept outside the database, in a file only the server's
account can read: a copy of the database (a backup, a dump, a replica's connection string)
reveals no upstream credential without that file. Replicas must share the key file (see
docs/deployment.md); a value sealed under another key is an error naming the cause, never sent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ..errors import StorageError, UpstreamUnavailableError

log = logging.getLogger(__name__)

SECRET_SETTING_WORDS = ("token", "password", "secret")
MASK = "***"
SEALED_PREFIX = "enc:v1:"


def is_secret_setting(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_SETTING_WORDS)


class SecretKeyMismatchError(UpstreamUnavailableError):
    """A stored secret was sealed under another key than this server's."""


class SecretBox:
    """Seals and reveals secret settings with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def ephemeral(cls) -> SecretBox:
        """A key for this process only (in-memory vaults, tests)."""
        return cls(Fernet.generate_key())

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """The key in ``path``, created (0600) when missing; a readable-by-others file is
        tightened to 0600 and logged."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            # Written aside, then linked into place: a replica starting at the same moment
            # reads either no file or a whole one, and exactly one key wins.
            draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(Fernet.generate_key() + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
                with contextlib.suppress(FileExistsError):
                    os.link(draft, path)
                    log.warning("Created the key that encrypts upstream credentials: %s", path)
            finally:
                draft.unlink()
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("Tightened permissions of %s from %o to 600", path, mode)
        try:
            return cls(path.read_bytes().strip())
        except ValueError:
            raise StorageError(f"{path} does not hold a valid secrets key (Fernet).") from None

    def seal(self, value: str) -> str:
        """The stored form of ``value``. A sealed value stays as it is, even one sealed under
        another key: a replica with the wrong key file must not wrap it a second time (it could
        never be opened again), it fails on use instead (see :meth:`reveal`)."""
        if value.startswith(SEALED_PREFIX):
            return value
        return SEALED_PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def reveal(self, stored: str) -> str:
        """The plain value of a stored secret (one stored before encryption is returned as is).

        Raises:
            SecretKeyMismatchError: sealed under another key.
        """
        if not stored.startswith(SEALED_PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyMismatchError(
                "This repository's upstream credentials were encrypted with another key than this "
                "server's secrets key file (replicas must share it, see docs/deployment.md); set "
                "the credentials again or restore the key file."
            ) from None

    def seal_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` with every non-empty secret setting sealed."""
        return {
            k: self.seal(v) if is_secret_setting(k) and isinstance(v, str) and v else v
            for k, v in config.items()
        }


__all__ = [
    "MASK",
    "SecretBox",
    "SecretKeyMismatchError",
    "is_secret_setting",
]
