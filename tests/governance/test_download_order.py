"""The download call (core/hub/download.py) keeps the security order in core: the judge decides
before a redirect URL exists, a blocked file is audited and never opened, an admitted one is
served and audited once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from modelvault_jlab.core.hub.refs import HubRef
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.errors import PolicyError
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.records import AuditQuery
from tests.bundles.conftest import Site, open_test_vault, uid
from tests.governance.test_product_story import malicious_pickle


def test_blocked_before_redirect_admitted_served_and_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = open_test_vault(tmp_path / "vault")
    try:
        site = Site(vault, tmp_path / "vault")
        repo_id = f"org/m-{uid()}"
        site.model(repo_id, {"model.pkl": malicious_pickle(), "config.json": b"{}"})
        ref = HubRef("models", "model", repo_id)
        presigned: list[Sha256] = []

        def download_url(sha256: Sha256) -> str:
            presigned.append(sha256)
            return f"https://objects.example/{sha256}"

        monkeypatch.setattr(vault.content, "download_url", download_url)

        with pytest.raises(PolicyError):
            asyncio.run(vault.downloads.start(SYSTEM, ref, None, "model.pkl"))
        assert presigned == []  # the judge refused first: no URL was ever made
        blocked = vault.audit.query(AuditQuery(action="policy.block"))
        assert any("model.pkl" in (e.subject or "") for e in blocked)

        download = asyncio.run(vault.downloads.start(SYSTEM, ref, "main", "config.json"))
        assert download.warnings == []
        assert not download.immutable  # asked by branch name
        assert download.redirect == f"https://objects.example/{download.entry.sha256}"
        assert presigned == [download.entry.sha256]

        async def read() -> bytes:
            content = await download.open()
            return b"".join([c async for c in content.chunks(0, 2, 2)])

        assert asyncio.run(read()) == b"{}"
        before = len(vault.audit.query(AuditQuery(action="hub.file.download")))
        download.record()
        events = vault.audit.query(AuditQuery(action="hub.file.download"))
        assert len(events) == before + 1
        assert any((e.subject or "").endswith("/config.json") for e in events)
    finally:
        vault.close()
