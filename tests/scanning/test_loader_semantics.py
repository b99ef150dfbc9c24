"""The scanner reads files the way their loaders do (issue #13 classes 1-4), structural cases.

Live samples of each class are in corpus_loaders.py; these tests pin the rules behind them on
cases where the verdict is an error (the scanner cannot follow what a loader would do) or where a
benign file must stay clean.
"""

from __future__ import annotations

import io
import struct
import tarfile

import joblib
import numpy as np
import pytest
import torch

from modelvault_jlab.core.scanning import Verdict
from modelvault_jlab.core.scanning.archives import classify_zip

from . import payloads as p
from .corpus_loaders import exec_p0, exec_p2, npy
from .payloads import globals_of, rules


# -- 1. every file is a pickle candidate at offset 0, and a zip candidate at its end ----------------
def test_image_with_trailing_zip_is_scanned_as_zip(scan):
    data = b"\x89PNG\r\n\x1a\n" + bytes(64) + p.torch_zip(exec_p2())
    report = scan.bytes(data, name_hint="cat.png")
    assert report.verdict is Verdict.MALICIOUS
    assert {"polyglot-zip", "pickle-denied-global"} <= rules(report)


def test_tar_with_trailing_zip_is_scanned_as_zip(scan):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    report = scan.bytes(buf.getvalue() + p.torch_zip(exec_p2()), name_hint="x.tar")
    assert "builtins.exec" in globals_of(report)


def test_text_that_only_looks_like_opcodes_stays_clean(scan):
    for text in (b"cat\ndog\nbird\n", b"import os\nimport torch\n", b"sat\nsun\n"):
        report = scan.bytes(text, name_hint="labels.txt")
        assert not rules(report) & {
            "pickle-unknown-global",
            "pickle-denied-global",
            "pickle-parse-error",
        }, (text, report.findings)


def test_what_runs_before_a_headerless_stream_fails_is_reported(scan):
    report = scan.bytes(exec_p0()[:-1] + b"\xff garbage", name_hint="notes.txt")
    assert report.verdict is Verdict.MALICIOUS


# -- 2. CPython's limits, not the walker's ----------------------------------------------------------
def test_long_global_name_is_followed(scan):
    # proto 4 GLOBAL resolves dotted names: a 1.6 KiB attribute chain is still os.system
    name = "path.os." * 200 + "system"
    data = b"\x80\x04" + p.global_("os", name) + b"(S'id'\ntR."
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS
    assert "pickle-limit" not in rules(report)


def test_over_long_text_operands_are_followed(scan):
    # CPython has no line limit: past the walker's, the operand is accepted unchecked
    for op in (
        b"S'" + b"a" * (3 << 19) + b"'\n",
        b"V" + b"a" * (3 << 19) + b"\n",
        b"I" + b"1" * (3 << 19) + b"\n",
    ):
        report = scan.bytes(op + b"0" + exec_p0(), name_hint="model.pkl")
        assert "builtins.exec" in globals_of(report)
    # ...unless its start already rules it out (one long line of text)
    assert scan.bytes(b"Some text " * 200_000 + b"\n").verdict is Verdict.CLEAN


def test_walker_limits_are_errors(scan):
    # a memo key the walker cannot hold makes every later GET unknowable
    report = scan.bytes(b"N" + b"p" + b"1" * (3 << 19) + b"\n0" + exec_p0(), name_hint="m.pkl")
    assert "pickle-limit" in rules(report)
    assert report.verdict is Verdict.ERROR


def test_opcode_straddling_a_frame_is_an_error(scan):
    body = b"\x8c\x02os\x8c\x06system\x93(S'id'\ntR."
    data = b"\x80\x04\x95" + struct.pack("<Q", 5) + body
    report = scan.bytes(data)
    assert "pickle-limit" in rules(report)
    assert report.verdict in (Verdict.ERROR, Verdict.MALICIOUS)


@pytest.mark.parametrize(
    "literal",
    [b"I0x10\n", b"I010\n", b"I1\x00x\n", b"L0b11L\n", b"F1_0\n", b"F1.5\x00\n", b"I 1_000\n"],
)
def test_cpython_literals_parse(scan, literal):
    report = scan.bytes(b"\x80\x02" + literal + b"0" + exec_p0())
    assert "builtins.exec" in globals_of(report), report.findings


# -- 3. containers ---------------------------------------------------------------------------------
def test_torch_archive_folder_comes_from_the_first_entry(scan):
    # torch reads <folder of the first entry>/data.pkl, names compared case-insensitively
    names = ["b/version", "a/data.pkl", "b/DATA.PKL", "b/data/0"]
    assert classify_zip(names, names) == ("torch-zip", "b/")
    assert classify_zip(["data.pkl"], ["data.pkl"])[0] == "zip"  # torch refuses: no folder
    zipped = p.zip_bytes(
        {"b/version": b"3\n", "a/data.pkl": b"\x80\x02}.", "b/DATA.PKL": exec_p2()}
    )
    report = scan.bytes(zipped, name_hint="model.pt")
    assert report.format == "torch-zip"
    assert report.inner_formats.get("b/DATA.PKL") == "pickle"
    assert "builtins.exec" in globals_of(report)


def test_torch_legacy_later_pickle_unreadable_is_error(scan):
    magic = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
    data = magic + b"\x80\x02M\xe9\x03." + b"\x80\x02\xff broken"
    report = scan.bytes(data, name_hint="model.pth")
    assert report.verdict is Verdict.ERROR
    assert "torch-legacy-malformed" in rules(report)


def test_joblib_duplicate_state_key_last_wins(scan):
    # shape given twice: a dict keeps the last one, (100,), and joblib reads 800 bytes
    buf = io.BytesIO()
    joblib.dump(np.arange(3.0), buf, protocol=2)
    data = buf.getvalue()
    assert data.count(b"ub\x05") == 1
    patched = data.replace(b"ub\x05", b"X\x05\x00\x00\x00shapeKd\x85ub\x05")
    assert scan.bytes(data, name_hint="a.joblib").verdict is Verdict.CLEAN
    assert scan.bytes(patched, name_hint="a.joblib").verdict is Verdict.ERROR


def test_joblib_wrapper_made_through_copyreg_is_followed(scan):
    buf = io.BytesIO()
    joblib.dump(np.arange(3.0), buf, protocol=2)
    data = buf.getvalue()
    made_by_newobj = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x00)\x81q\x01"
    assert made_by_newobj in data
    reconstructed = (
        p.global_("copyreg", "_reconstructor")
        + b"("
        + p.global_("joblib.numpy_pickle", "NumpyArrayWrapper")
        + p.global_("builtins", "object")
        + b"NtR"
    )
    # the array bytes are 24 zero-ish bytes joblib skips: hide an opcode stream there that a
    # walker not recognising the wrapper would parse instead
    report = scan.bytes(data.replace(made_by_newobj, reconstructed), name_hint="a.joblib")
    assert report.verdict is Verdict.CLEAN, report.findings


def test_benign_joblib_and_torch_stay_clean(scan, tmp_path):
    path = tmp_path / "m.joblib"
    joblib.dump({"a": np.arange(5), "b": np.ones((2, 2), dtype=np.float32)}, path)
    assert scan.file(path).verdict is Verdict.CLEAN
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert scan.file(path).verdict is Verdict.CLEAN


def test_ndarray_wrapper_is_denied(scan):
    data = b"\x80\x02" + p.global_("joblib.numpy_pickle_compat", "NDArrayWrapper") + b")\x81}b."
    assert scan.bytes(data).verdict is Verdict.MALICIOUS


# -- 4. numpy descriptors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "descr", ["'<f8'", "[('a', '<i4'), ('b', '<f4')]", "('<f4', (2,))", "'i4,f8'", "'float64'"]
)
def test_plain_npy_descriptors_are_not_object_arrays(scan, descr):
    report = scan.bytes(npy(descr, bytes(64)), name_hint="a.npy")
    assert report.format == "npy"
    assert report.verdict is Verdict.CLEAN, report.findings


@pytest.mark.parametrize(
    "descr",
    [
        "'object'",
        "'O'",
        "'|O'",
        "'object_'",
        "'i4,O'",
        "[('a', 'object')]",
        "('object_', (2,))",
        "[('n', [('x', 'O')])]",
        "[('s', 'O', (2,))]",
    ],
)
def test_object_descriptors_are_walked_as_pickles(scan, descr):
    report = scan.bytes(npy(descr, exec_p2()), name_hint="a.npy")
    assert report.format == "npy-object"
    assert report.verdict is Verdict.MALICIOUS


def test_invalid_descriptor_is_error(scan):
    assert scan.bytes(npy("'not-a-type'", bytes(8))).verdict is Verdict.ERROR


def test_joblib_zfile_benign_is_clean(scan):
    import pickle

    from joblib.numpy_pickle_compat import write_zfile

    buf = io.BytesIO()
    write_zfile(buf, pickle.dumps({"a": [1, 2.0, "x"]}, protocol=2))
    report = scan.bytes(buf.getvalue(), name_hint="old.joblib")
    assert report.format == "joblib-zfile"
    assert report.verdict is Verdict.CLEAN, report.findings
