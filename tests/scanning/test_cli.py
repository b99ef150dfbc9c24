"""``modelvault scan``: exit codes 0/1/2 and the --json line format."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from modelvault_jlab.cli import scan as scan_cli

from . import payloads as p


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "config.json").write_text('{"a": 1}')
    (tmp_path / "clean" / "sub").mkdir()
    (tmp_path / "clean" / "sub" / "w.pkl").write_bytes(p.proto(2) + p.NONE + p.STOP)
    (tmp_path / "evil.pkl").write_bytes(p.os_system())
    (tmp_path / "broken.pkl").write_bytes(b"\x80\x04\x95")
    return tmp_path


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="modelvault")
    sub = parser.add_subparsers(dest="command", required=True)
    scan_cli.register(sub)
    args = parser.parse_args(["scan", *argv])
    return int(args.func(args))


def test_exit_codes(tree, capsys):
    assert _run(str(tree / "clean")) == 0
    assert _run(str(tree / "clean"), str(tree / "evil.pkl")) == 1
    assert _run(str(tree / "evil.pkl"), str(tree / "broken.pkl")) == 2
    out = capsys.readouterr().out
    assert "MALICIOUS" in out and "pickle-denied-global" in out


def test_missing_file_is_error(tree):
    assert _run(str(tree / "nope.bin")) == 2


def test_json_lines(tree, capsys):
    assert _run("--json", str(tree)) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4
    by_name = {line["path"].rsplit("/", 1)[-1]: line for line in lines}
    evil = by_name["evil.pkl"]
    assert evil["verdict"] == "malicious" and evil["format"] == "pickle"
    assert evil["scanner_version"]
    assert evil["findings"][0]["global"] == "os.system"
    assert by_name["broken.pkl"]["verdict"] == "error"
    assert by_name["config.json"]["verdict"] == "clean"


def test_allow_global_option(tmp_path):
    f = tmp_path / "x.pkl"
    f.write_bytes(p.reduce_call("mypkg", "Thing"))
    assert _run(str(f)) == 1
    assert _run("--allow-global", "mypkg.Thing", str(f)) == 0


def test_module_entry_point(tree):
    proc = subprocess.run(
        [sys.executable, "-m", "modelvault_jlab.cli.scan", "--json", str(tree / "evil.pkl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "malicious"
