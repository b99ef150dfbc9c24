"""Containers: zip quirks other scanners trip on, tar, 7z, compression wrappers, bombs, depth."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import warnings
import zipfile
import zlib

import pytest

from modelvault_jlab.core.scanning import ScanEngine, Verdict

from . import payloads as p
from .payloads import rules

EVIL = p.os_system(protocol=2)


def _patch_all(data: bytes, sig: bytes, offset: int, value: bytes) -> bytes:
    out = bytearray(data)
    pos = out.find(sig)
    while pos >= 0:
        out[pos + offset : pos + offset + len(value)] = value
        pos = out.find(sig, pos + 4)
    return bytes(out)


def test_zip_of_pickles_by_content_not_name(scan):
    report = scan.bytes(p.zip_bytes({"readme.txt": b"hello", "weights/layer.bin": EVIL}))
    assert report.verdict is Verdict.MALICIOUS
    assert any(f.inner_path == "weights/layer.bin" for f in report.findings)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_compression_methods(scan, method):
    assert scan.bytes(p.zip_bytes({"a.pkl": EVIL}, method)).verdict is Verdict.MALICIOUS
    assert (
        scan.bytes(p.zip_bytes({"a.pkl": p.proto(2) + p.NONE + p.STOP}, method)).verdict
        is Verdict.CLEAN
    )


def test_zip_crc_mismatch_is_still_scanned(scan):
    # CVE-2025-10156 (JFrog): zipfile raises on bad CRC, torch.load does not check it
    data = _patch_all(
        p.zip_bytes({"archive/data.pkl": EVIL}), b"PK\x01\x02", 16, b"\x00\x00\x00\x00"
    )
    data = _patch_all(data, b"PK\x03\x04", 14, b"\x00\x00\x00\x00")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    assert scan.bytes(data).verdict is Verdict.MALICIOUS


def test_zip_encryption_flag_on_plain_data(scan):
    # flag bit 0 makes zipfile demand a password; the bytes are plain
    data = _patch_all(p.zip_bytes({"archive/data.pkl": EVIL}), b"PK\x01\x02", 8, b"\x01\x00")
    data = _patch_all(data, b"PK\x03\x04", 6, b"\x01\x00")
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS and "zip-encrypted-flag" in rules(report)


def test_zip_local_central_name_mismatch(scan):
    data = p.zip_bytes({"archive/data.pkl": EVIL})
    lfh = data.find(b"PK\x03\x04")
    data = data[: lfh + 30] + b"archive/data.txt" + data[lfh + 30 + 16 :]
    report = scan.bytes(data)
    assert "zip-name-mismatch" in rules(report) and report.verdict is Verdict.MALICIOUS


def test_zip_unsupported_method_is_error(scan):
    data = _patch_all(p.zip_bytes({"a.pkl": EVIL}), b"PK\x01\x02", 10, b"\x63\x00")
    data = _patch_all(data, b"PK\x03\x04", 8, b"\x63\x00")
    report = scan.bytes(data)
    assert report.verdict is Verdict.ERROR and "zip-unsupported-compression" in rules(report)


def test_zip_prepended_data(scan):
    report = scan.bytes(b"#!/bin/sh\necho not a zip\n" + p.zip_bytes({"x.pkl": EVIL}))
    assert report.verdict is Verdict.MALICIOUS
    assert "zip-prepended-data" in rules(report)


def test_zip_duplicate_names_all_scanned(scan):
    report = scan.bytes(_dupe_zip())
    assert "zip-duplicate-entry" in rules(report)
    assert report.verdict is Verdict.MALICIOUS


def _dupe_zip() -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", EVIL)
            z.writestr("archive/data.pkl", p.proto(2) + p.NONE + p.STOP)
    return buf.getvalue()


def test_zip_entry_hidden_from_central_directory(scan):
    data = p.zip_bytes({"ok.txt": b"fine", "evil.pkl": EVIL})
    cd = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", cd + 4)
    eocd = data.rfind(b"PK\x05\x06")
    rec = data[second:eocd]
    _n, cd_size, cd_off = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    new_eocd = (
        data[eocd : eocd + 8]
        + struct.pack("<HHII", 1, 1, cd_size - len(rec), cd_off)
        + data[eocd + 20 :]
    )
    hidden = data[:second] + new_eocd
    assert zipfile.ZipFile(io.BytesIO(hidden)).namelist() == ["ok.txt"]
    report = scan.bytes(hidden)
    assert "zip-hidden-entry" in rules(report) and report.verdict is Verdict.MALICIOUS


def test_truncated_zip_without_central_directory(scan):
    data = p.zip_bytes({"evil.pkl": EVIL})
    report = scan.bytes(data[: data.find(b"PK\x01\x02")])
    assert report.verdict is Verdict.MALICIOUS


def test_zip_garbage_is_error(scan):
    assert scan.bytes(b"PK\x03\x04" + b"\xff" * 10).verdict is Verdict.ERROR


@pytest.mark.parametrize("fmt", ["gzip", "bz2", "xz", "lzma", "zlib"])
def test_compressed_wrappers(scan, fmt):
    comp = {
        "gzip": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
        "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
        "zlib": zlib.compress,
    }[fmt]
    assert scan.bytes(comp(EVIL)).verdict is Verdict.MALICIOUS
    assert scan.bytes(comp(p.proto(2) + p.NONE + p.STOP)).verdict is Verdict.CLEAN


def test_tar_gz_nesting_inner_path(scan):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("model/ok.json", b"{}"), ("model/evil.bin", EVIL)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    report = scan.bytes(buf.getvalue(), name_hint="model.tar.gz")
    f = next(f for f in report.findings if f.rule == "pickle-denied-global")
    assert f.inner_path == "model.tar/model/evil.bin"
    assert report.verdict is Verdict.MALICIOUS


def test_tar_unsafe_paths_and_links(scan):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("../../etc/cron.d/x")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("lnk")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    report = scan.bytes(buf.getvalue())
    assert {"archive-unsafe-path", "archive-link"} <= rules(report)


def test_7z_wrapped_torch_checkpoint(scan, tmp_path):
    # ReversingLabs "nullifAI": PyTorch models compressed with 7z evaded picklescan
    py7zr = pytest.importorskip("py7zr")
    path = tmp_path / "m.7z"
    with py7zr.SevenZipFile(path, "w") as z:
        z.writestr(p.zip_bytes({"archive/data.pkl": EVIL, "archive/version": b"3"}), "model.bin")
    report = scan.file(path)
    assert report.format == "7z" and report.verdict is Verdict.MALICIOUS
    assert any(f.inner_path == "model.bin/archive/data.pkl" for f in report.findings)


def test_zip_bomb_ratio_is_a_finding(scan):
    data = p.zip_bytes({"zeros.bin": b"\x00" * (40 << 20)}, zipfile.ZIP_DEFLATED)
    assert len(data) < 200_000
    report = scan.bytes(data)
    assert "archive-bomb" in rules(report)
    assert report.verdict is Verdict.ERROR


def test_gzip_bomb_total_budget():
    data = gzip.compress(b"\x00" * (4 << 20))
    engine = ScanEngine(max_total_expanded_bytes=1 << 20)
    report = engine.scan_fileobj(io.BytesIO(data), len(data))
    assert "archive-bomb" in {f.rule for f in report.findings}
    assert report.verdict is Verdict.ERROR


def test_nested_zip_depth_limit(scan):
    data = EVIL
    for i in range(10):
        data = p.zip_bytes({f"layer{i}.zip": data})
    report = scan.bytes(data)
    assert "archive-too-deep" in rules(report)
    assert report.verdict is Verdict.ERROR
    shallow = EVIL
    for i in range(3):
        shallow = p.zip_bytes({f"layer{i}.zip": shallow})
    assert scan.bytes(shallow).verdict is Verdict.MALICIOUS
