"""Engine-level guarantees: fail closed, never raise, stream, stable API, fickling in the loop."""

from __future__ import annotations

import io
import os
import pickle
import random
import struct

import pytest

from modelvault_jlab.core import scanning
from modelvault_jlab.core.scanning import SCANNER_VERSION, ScanEngine, Verdict, registry

from . import payloads as p
from .payloads import rules


def test_public_api_surface():
    assert set(scanning.__all__) >= {
        "ScanEngine",
        "ScanReport",
        "Finding",
        "Verdict",
        "SCANNER_VERSION",
    }
    assert {v.value for v in Verdict} == {"clean", "suspicious", "malicious", "error"}
    assert SCANNER_VERSION


def test_report_metadata(scan):
    data = pickle.dumps([1, 2, 3], protocol=4)
    report = scan.bytes(data)
    assert report.size == len(data) and report.bytes_scanned >= len(data)
    assert report.duration_seconds >= 0 and report.scanner_version == SCANNER_VERSION
    assert report.format == "pickle"


def test_internal_scanner_bug_fails_closed(scan, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("bug")

    monkeypatch.setitem(registry.SCANNERS, "pickle", boom)
    report = scan.bytes(pickle.dumps(1, protocol=4))
    assert report.verdict is Verdict.ERROR and "scanner-error" in rules(report)


@pytest.mark.parametrize("seed", range(20))
def test_random_garbage_never_raises(scan, seed):
    rng = random.Random(seed)
    prefixes = [
        b"",
        b"\x80\x04",
        b"PK\x03\x04",
        b"\x93NUMPY\x01\x00",
        b"GGUF\x03\x00\x00\x00",
        b"\x1f\x8b",
        b"7z\xbc\xaf\x27\x1c",
        b"\x89HDF\r\n\x1a\n",
        b"(",
        b"\x08\x07\x12",
    ]
    data = rng.choice(prefixes) + rng.randbytes(rng.randint(0, 3000))
    report = scan.bytes(data, name_hint=rng.choice([None, "x.onnx", "x.bin", "x.py"]))
    assert report.verdict in set(Verdict)
    if data[:2] == b"\x80\x04" or data[:4] == b"PK\x03\x04":
        assert report.verdict is not Verdict.CLEAN


@pytest.mark.parametrize("cut", [10, 40, -30, -5])
def test_truncated_torch_checkpoint_is_not_clean(scan, tmp_path, cut):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(3)}, path)
    data = path.read_bytes()
    report = scan.bytes(data[:cut])
    assert report.verdict is not Verdict.CLEAN, (cut, report.format, report.findings)


def test_oversized_safetensors_header(scan):
    data = struct.pack("<Q", 200_000_000) + b"{" + b" " * 64
    report = scan.bytes(data)
    assert report.verdict is not Verdict.CLEAN


def test_fickling_is_a_second_analyser(scan):
    report = scan.bytes(p.os_system())
    assert any(f.rule.startswith("fickling-") for f in report.findings)


def test_scan_fileobj_does_not_need_a_real_file(scan):
    data = p.os_system()
    report = ScanEngine().scan_fileobj(io.BytesIO(data), len(data), name_hint="a.bin")
    assert report.verdict is Verdict.MALICIOUS


def test_streaming_memory_is_bounded(tmp_path):
    # a 256 MiB pickle of one huge bytes payload: we must not read it (seek over it)
    path = tmp_path / "huge.pkl"
    size = 256 << 20
    with path.open("wb") as f:
        f.write(p.proto(4) + b"\x8e" + struct.pack("<Q", size))
        f.truncate(f.tell() + size)
        f.seek(0, os.SEEK_END)
        f.write(p.STOP)
    report = ScanEngine().scan_file(path)
    assert report.verdict is Verdict.CLEAN
    assert report.bytes_scanned < 1 << 20
