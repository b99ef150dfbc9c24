"""The pickle analyser: allow-list decisions, opcode coverage, streaming, fail-closed parsing."""

from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest

from modelvault_jlab.core.scanning import ScanEngine, ScanReport, Verdict
from modelvault_jlab.core.scanning.models import Finding, Severity

from . import payloads as p
from .payloads import globals_of, rules


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_benign_builtin_structures_every_protocol(scan, protocol):
    obj = {
        "a": [1, 2.5, "x", None, True],
        "b": b"\x00\x01",
        "c": (1, 2),
        "d": {3, 4},
        "e": frozenset({5}),
        "f": OrderedDict(z=1),
        "g": 10**30,
        "h": complex(1, 2),
    }
    report = scan.bytes(pickle.dumps(obj, protocol=protocol))
    assert report.format == "pickle"
    assert report.verdict is Verdict.CLEAN, report.findings


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_benign_numpy_arrays(scan, protocol):
    obj = {"x": np.arange(12.0).reshape(3, 4), "i": np.int64(3), "s": np.array(["ab"])}
    report = scan.bytes(pickle.dumps(obj, protocol=protocol))
    assert report.verdict is Verdict.CLEAN, report.findings


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_os_system_is_malicious_every_protocol(scan, protocol):
    report = scan.bytes(p.os_system(protocol=protocol))
    assert report.verdict is Verdict.MALICIOUS
    assert "os.system" in globals_of(report) or "posix.system" in globals_of(report)
    f = next(f for f in report.findings if f.rule == "pickle-denied-global")
    assert f.offset is not None and f.format == "pickle" and f.inner_path == ""


def test_unknown_global_is_suspicious(scan):
    report = scan.bytes(p.reduce_call("mypkg.models", "Thing"))
    assert report.verdict is Verdict.SUSPICIOUS
    assert "mypkg.models.Thing" in globals_of(report)


def test_admin_can_extend_allow_list(scan):
    data = p.reduce_call("mypkg.models", "Thing")
    engine = ScanEngine(extra_allowed_globals=frozenset({"mypkg.models.Thing"}))
    report = engine.scan_fileobj(io.BytesIO(data), len(data))
    assert report.verdict is Verdict.CLEAN
    # extending never un-denies by accident: the denylist still grades other globals
    assert scan.bytes(p.os_system()).verdict is Verdict.MALICIOUS


def test_global_offset_points_at_opcode(scan):
    data = p.proto(2) + p.global_("os", "system") + p.string_nl("x") + p.TUPLE1 + p.REDUCE + p.STOP
    report = scan.bytes(data)
    f = next(f for f in report.findings if f.rule == "pickle-denied-global")
    assert f.offset == 2 and data[2:3] == b"c"


def test_stack_global_from_memo(scan):
    # module and name strings are memoised first, then fetched back for STACK_GLOBAL
    data = (
        p.proto(4)
        + p.su("os")
        + p.MEMOIZE
        + p.su("system")
        + p.MEMOIZE
        + p.POP
        + p.POP
        + b"h\x00"
        + b"h\x01"
        + p.STACK_GLOBAL
        + p.su("id")
        + p.TUPLE1
        + p.REDUCE
        + p.STOP
    )
    assert "os.system" in globals_of(scan.bytes(data))


def test_inst_and_obj(scan):
    inst = p.MARK + p.string_nl("id") + p.inst("subprocess", "getoutput") + p.STOP
    assert scan.bytes(inst).verdict is Verdict.MALICIOUS
    obj = p.proto(2) + p.MARK + p.global_("builtins", "eval") + p.string_nl("1") + b"o" + p.STOP
    assert "builtins.eval" in globals_of(scan.bytes(obj))


def test_newobj_with_non_global_class_is_flagged(scan):
    data = p.proto(2) + p.global_("collections", "OrderedDict") + p.EMPTY_TUPLE + p.REDUCE
    data += p.EMPTY_TUPLE + p.NEWOBJ + p.STOP
    report = scan.bytes(data)
    assert "pickle-indirect-call" in rules(report)
    assert report.verdict is Verdict.SUSPICIOUS


def test_ext_opcodes_are_suspicious(scan):
    for op in (b"\x82\x01", b"\x83\x01\x00", b"\x84\x01\x00\x00\x00"):
        report = scan.bytes(p.proto(2) + op + p.EMPTY_TUPLE + p.REDUCE + p.STOP)
        assert "pickle-ext-opcode" in rules(report)
        assert report.verdict.is_flagged


def test_persistent_id_outside_torch_is_suspicious(scan):
    data = p.proto(2) + p.su("storage") + b"Q" + p.STOP
    assert "pickle-persistent-id" in rules(scan.bytes(data))
    data0 = b"Pfoo\n."
    assert "pickle-persistent-id" in rules(scan.bytes(data0))


def test_build_abuse(scan):
    # BUILD on an imported class sets attributes on it (monkeypatching)
    data = (
        p.proto(2)
        + p.global_("collections", "OrderedDict")
        + p.EMPTY_DICT
        + p.su("x")
        + p.su("y")
        + p.SETITEM
        + p.BUILD
        + p.STOP
    )
    assert "pickle-build-on-global" in rules(scan.bytes(data))
    # BUILD with a slot state installing __setstate__
    data = (
        p.proto(2)
        + p.global_("collections", "OrderedDict")
        + p.EMPTY_TUPLE
        + p.REDUCE
        + p.NONE
        + p.EMPTY_DICT
        + p.su("__setstate__")
        + p.NONE
        + p.SETITEM
        + p.TUPLE2
        + p.BUILD
        + p.STOP
    )
    report = scan.bytes(data)
    assert "pickle-build-dunder-state" in rules(report)
    assert report.verdict is Verdict.MALICIOUS


def test_truncated_malicious_pickle_still_reports_global(scan):
    data = p.os_system()[:-1]  # no STOP
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS
    assert "pickle-parse-error" in rules(report)


def test_parse_error_is_never_clean(scan):
    data = pickle.dumps({"a": 1}, protocol=4)[:-3]
    report = scan.bytes(data)
    assert report.verdict is Verdict.ERROR
    bad_opcode = p.proto(2) + p.EMPTY_DICT + b"\xff" + p.STOP
    assert scan.bytes(bad_opcode).verdict is Verdict.ERROR


def test_unsupported_protocol_is_error(scan):
    assert scan.bytes(b"\x80\x09" + p.NONE + p.STOP).verdict in (Verdict.ERROR, Verdict.CLEAN)
    # \x80\x09 is not sniffed as a pickle head; forced through the walker it is an error:
    data = pickle.dumps(1, protocol=2) + b"\x80\x09N."
    assert scan.bytes(data).verdict.is_flagged or scan.bytes(data).verdict is Verdict.ERROR


def test_concatenated_pickles_all_scanned(scan):
    data = pickle.dumps({"ok": 1}, protocol=2) + p.os_system()
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS
    f = next(f for f in report.findings if f.rule == "pickle-denied-global")
    assert f.offset is not None and f.offset > len(pickle.dumps({"ok": 1}, protocol=2))


def test_trailing_garbage_is_suspicious(scan):
    report = scan.bytes(pickle.dumps([1, 2], protocol=4) + b"\xff\xfe garbage")
    assert report.verdict is Verdict.SUSPICIOUS
    assert "pickle-trailing-data" in rules(report)


def test_nested_pickle_in_bytes_is_scanned(scan):
    inner = p.os_system()
    data = p.proto(4) + p.binbytes(inner) + p.STOP
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS
    assert any("nested pickle" in f.message for f in report.findings)


def test_big_bytes_payload_is_skipped_not_loaded(scan, tmp_path):
    payload = b"\x00" * (32 << 20)
    path = tmp_path / "big.pkl"
    path.write_bytes(p.proto(4) + p.binbytes8(payload) + p.STOP)
    report = scan.file(path)
    assert report.verdict is Verdict.CLEAN
    assert report.bytes_scanned < 1 << 20


def test_protocol0_text_like_files_are_not_pickles(scan):
    for text in (
        b"Notes about the model\n",
        b"I like models\n",
        b"(see below)\n",
        b"class Foo:\n    pass\n",
    ):
        report = scan.bytes(text, name_hint="README.md")
        assert report.verdict is Verdict.CLEAN, (text, report.findings)


def test_report_round_trips_through_json(scan):
    import json

    report = scan.bytes(p.os_system())
    again = ScanReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    d = report.findings[0].to_dict()
    assert {"severity", "rule", "message", "global", "offset", "inner_path", "format"} <= set(d)
    assert Finding.from_dict(d) == report.findings[0]


def test_severity_order():
    assert Severity.INFO < Severity.SUSPICIOUS < Severity.ERROR < Severity.MALICIOUS
    ranks = [v.rank for v in (Verdict.CLEAN, Verdict.SUSPICIOUS, Verdict.ERROR, Verdict.MALICIOUS)]
    assert ranks == sorted(ranks)


def test_python2_renames_are_applied(scan):
    # commands.getoutput is subprocess.getoutput after fix_imports
    data = p.global_("commands", "getoutput") + p.MARK + p.string_nl("id") + p.TUPLE + p.REDUCE
    report = scan.bytes(data + p.STOP)
    assert "subprocess.getoutput" in globals_of(report)
    assert report.verdict is Verdict.MALICIOUS


def test_frame_and_memo_heavy_protocol4(scan):
    obj = [{f"k{i}": np.float32(i)} for i in range(200)]
    report = scan.bytes(pickle.dumps(obj, protocol=4))
    assert report.verdict is Verdict.CLEAN, report.findings


def test_long_binget_and_get_variants(scan):
    data = p.su("os") + b"r\x05\x00\x00\x00" + p.su("system") + p.put(7)
    data = p.proto(4) + data + p.POP + p.POP + b"j\x05\x00\x00\x00" + p.get(7) + p.STACK_GLOBAL
    data += p.su("x") + p.TUPLE1 + p.REDUCE + p.STOP
    assert "os.system" in globals_of(scan.bytes(data))


def test_binint_struct_sanity():
    assert struct.pack("<I", 1) == b"\x01\x00\x00\x00"
