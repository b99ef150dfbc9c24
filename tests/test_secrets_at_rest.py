"""Secrets at rest: a private data dir under a permissive umask, upstream credentials encrypted
with a key outside the database, and the migration of what older versions stored in the clear."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.secrets import SecretBox, SecretKeyMismatchError
from modelvault_jlab.errors import InvalidInputError, StorageError
from modelvault_jlab.storage.records import RepositoryRecord


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_data_dir_is_private(tmp_path: Path, permissive_umask: None) -> None:
    root = tmp_path / "vault"
    vault = open_vault(VaultSettings(data_dir=str(root)))
    try:
        vault.content.put_bytes(b"some blob")
        vault.recover()
    finally:
        vault.close()
    assert _mode(root) == 0o700
    for name in ("metadata.sqlite3", "secrets.key"):
        assert _mode(root / name) == 0o600, name
    assert _mode(root / "blobs") == 0o700
    for path in root.rglob("*"):
        if path.is_file():
            assert _mode(path) & 0o077 == 0, path


def test_existing_data_dir_is_tightened_and_logged(
    tmp_path: Path, permissive_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "vault"
    open_vault(VaultSettings(data_dir=str(root))).close()
    os.chmod(root, 0o755)
    os.chmod(root / "metadata.sqlite3", 0o644)
    os.chmod(root / "secrets.key", 0o644)
    with caplog.at_level(logging.WARNING):
        open_vault(VaultSettings(data_dir=str(root))).close()
    assert _mode(root) == 0o700
    assert _mode(root / "metadata.sqlite3") == 0o600
    assert _mode(root / "secrets.key") == 0o600
    assert f"Tightened permissions of {root}" in caplog.text


def test_plaintext_secrets_of_older_versions_are_encrypted_at_start(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    vault = open_vault(VaultSettings(data_dir=str(root)))
    hub_token, pypi_password = f"hf_{os.urandom(8).hex()}", f"pw{os.urandom(8).hex()}"
    try:  # what an older version stored: a token in the clear, a password in a URL
        vault.meta.create_repository(
            RepositoryRecord(
                "hub", "hf-remote", config={"upstream_token": hub_token}, created_at=time.time()
            )
        )
        vault.meta.create_repository(
            RepositoryRecord(
                "pkgs",
                "pypi-remote",
                config={"upstream": f"https://bob:{pypi_password}@pypi.internal/simple/"},
                created_at=time.time(),
            )
        )
    finally:
        vault.close()

    vault = open_vault(VaultSettings(data_dir=str(root)))
    try:
        vault.recover()
        hub, pkgs = vault.meta.get_repository("hub"), vault.meta.get_repository("pkgs")
        assert hub is not None and pkgs is not None
        assert hub.config["upstream_token"].startswith("enc:v1:")
        assert vault.secrets.reveal(hub.config["upstream_token"]) == hub_token
        assert pkgs.config["upstream"] == "https://pypi.internal/simple/"
        assert pkgs.config["upstream_username"] == "bob"
        assert vault.secrets.reveal(pkgs.config["upstream_password"]) == pypi_password
        remote = vault.pypi.remote.config(pkgs)
        assert remote.credentials is not None and remote.credentials.password == pypi_password
        vault.recover()  # a second start changes nothing
        assert vault.meta.get_repository("hub") == hub
    finally:
        vault.close()
    for path in root.glob("metadata.sqlite3*"):
        data = path.read_bytes()
        assert hub_token.encode() not in data and pypi_password.encode() not in data

    # Another key (a replica without the shared key file) fails clearly, never sends garbage.
    other = VaultSettings(data_dir=str(root), secrets_key_file=str(tmp_path / "other.key"))
    vault = open_vault(other)
    try:
        pkgs = vault.meta.get_repository("pkgs")
        assert pkgs is not None
        with pytest.raises(SecretKeyMismatchError, match="replicas must share it"):
            vault.pypi.remote.config(pkgs)
        vault.recover()  # its start-up migration leaves the other key's secrets alone
        assert vault.meta.get_repository("pkgs") == pkgs
    finally:
        vault.close()


def test_credentials_in_a_hub_url_are_refused_and_a_bad_key_file_is_named(tmp_path: Path) -> None:
    vault = open_vault(VaultSettings(data_dir=str(tmp_path / "vault")))
    try:
        with pytest.raises(InvalidInputError, match="upstream_token"):
            vault.repositories.create(
                SYSTEM, "hub", "hf-remote", config={"upstream": "https://u:hf_x@hub.example/"}
            )
    finally:
        vault.close()
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    with pytest.raises(StorageError, match=r"bad\.key does not hold a valid secrets key"):
        SecretBox.from_key_file(bad)
