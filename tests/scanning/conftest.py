from __future__ import annotations

import io
from pathlib import Path

import pytest

from modelvault_jlab.core.scanning import ScanEngine, ScanReport


@pytest.fixture(scope="session")
def engine() -> ScanEngine:
    return ScanEngine()


class Scanner:
    def __init__(self, engine: ScanEngine, tmp_path: Path) -> None:
        self.engine = engine
        self.tmp_path = tmp_path

    def bytes(self, data: bytes, name_hint: str | None = None) -> ScanReport:
        return self.engine.scan_fileobj(io.BytesIO(data), len(data), name_hint=name_hint)

    def file(self, path: Path | str, name_hint: str | None = None) -> ScanReport:
        return self.engine.scan_file(path, name_hint=name_hint)


@pytest.fixture
def scan(engine: ScanEngine, tmp_path: Path) -> Scanner:
    return Scanner(engine, tmp_path)
