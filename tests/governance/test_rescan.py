"""A scanner upgrade re-scans stored blobs and reports what is newly blocked."""

from __future__ import annotations

from pathlib import Path

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.storage.records import AuditQuery, ScanRecord
from tests.governance.test_product_story import malicious_pickle


def test_rescan_after_scanner_upgrade(tmp_path: Path) -> None:
    vault = open_vault(VaultSettings(data_dir=str(tmp_path / "vault")))
    try:
        info = vault.content.put_bytes(malicious_pickle())
        # As if an older scanner had judged it clean:
        vault.meta.put_scan(ScanRecord(info.sha256, "0.0.1-old", "clean", {"findings": []}, 0.0))
        assert vault.gate.rescan_stale() == 1
        record = vault.meta.get_scan(info.sha256)
        assert record is not None and record.verdict == "malicious"
        assert record.scanner_version == vault.gate.scanner_version
        events = vault.audit.query(AuditQuery(action="scan.verdict.changed"))
        assert [(e.subject, e.detail["before"], e.detail["after"]) for e in events] == [
            (info.sha256, "clean", "malicious")
        ]
        assert vault.gate.rescan_stale() == 0  # nothing left to do
        assert SYSTEM.is_admin
    finally:
        vault.close()
