"""In-process vaults (real SQLite + filesystem stores) and small content builders for bundles."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.bundles.service import BundleView
from modelvault_jlab.core.hub.refs import HubRef
from modelvault_jlab.core.hub.write import PutFile
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.vault import Vault
from tests.pypi.dists import wheel_bytes, wheel_name

APACHE_CARD = (
    b"---\nlicense: apache-2.0\npipeline_tag: text-classification\ndatasets:\n- imdb\n---\n# m\n"
)


def open_test_vault(root: Path) -> Vault:
    vault = open_vault(VaultSettings(data_dir=str(root)))
    if vault.meta.get_repository("pypi") is None:
        vault.repositories.create(SYSTEM, "pypi", "pypi-local")
    return vault


@dataclass
class Site:
    vault: Vault
    root: Path

    def model(self, repo_id: str, files: dict[str, bytes]) -> str:
        """Create a model repo in ``models`` with ``files``; returns the commit id."""
        ref = HubRef("models", "model", repo_id)
        self.vault.hub_write.create_repo(SYSTEM, ref)
        ops = []
        for path, data in files.items():
            info = self.vault.content.put_bytes(data)
            ops.append(PutFile(path, info.sha256, info.size, None))
        return self.vault.hub_write.commit(SYSTEM, ref, "main", ops, title="add").commit.sha

    def wheel(self, name: str, version: str, **kw: Any) -> str:
        session = self.vault.pypi.begin_upload(SYSTEM, "pypi")
        filename = wheel_name(name, version)
        session.start_file(filename)
        session.write(wheel_bytes(name, version, **kw))
        session.fields = {":action": ["file_upload"], "name": [name], "version": [version]}
        self.vault.pypi.finish_upload(session)
        return filename

    def create(self, name: str, version: str, components: list[dict[str, Any]]) -> BundleView:
        spec = {"name": name, "version": version, "components": components}
        return asyncio.run(self.vault.bundles.create(SYSTEM, spec))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    vault = open_test_vault(tmp_path / "site-a")
    yield Site(vault, tmp_path / "site-a")
    vault.close()


@pytest.fixture
def airgap(tmp_path: Path) -> Iterator[Site]:
    vault = open_test_vault(tmp_path / "site-b")
    yield Site(vault, tmp_path / "site-b")
    vault.close()


def uid() -> str:
    return uuid.uuid4().hex[:8]


def standard_bundle(site: Site, name: str = "release") -> BundleView:
    """A model (README with licence, config, an LFS-sized weight), a wheel and a generic file."""
    repo_id = f"acme/m-{uid()}"
    site.model(
        repo_id,
        {"README.md": APACHE_CARD, "config.json": b'{"a": 1}', "model.safetensors": _safetensors()},
    )
    site.wheel("tinypkg", "1.0.0")
    writer = site.vault.bundles.begin_file(SYSTEM, "notes.txt")
    writer.write(b"release notes\n")
    site.vault.bundles.finish_file(SYSTEM, "notes.txt", writer)
    return site.create(
        name,
        "1.0.0",
        [
            {"kind": "hub", "repository": "models", "repo_id": repo_id},
            {"kind": "package", "repository": "pypi", "name": "tinypkg", "version": "1.0.0"},
            {"kind": "file", "name": "notes.txt"},
        ],
    )


def _safetensors() -> bytes:
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 16
