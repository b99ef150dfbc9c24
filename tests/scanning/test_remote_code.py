"""auto_map entries that make trust_remote_code run another repository's code."""

from __future__ import annotations

import json
from pathlib import Path

from modelvault_jlab.core.scanning import Verdict

from .live import marker_command, payload_runs


def _config(auto_map: object) -> bytes:
    return json.dumps({"model_type": "custom", "auto_map": auto_map}).encode()


def test_cross_repo_auto_map_is_flagged_with_the_repo(scan):
    cases = [
        {"AutoConfig": "evil/repo--configuration_x.XConfig"},
        {"AutoModel": "evil/repo--modeling_x.XModel"},
        {"AutoTokenizer": [None, "evil/repo--tokenization_x.XTokenizerFast"]},
        ["evil/repo--tokenization_x.XTokenizer", None],  # old tokenizer_config form
    ]
    for auto_map in cases:
        for hint in ("config.json", "tokenizer_config.json"):
            report = scan.bytes(_config(auto_map), name_hint=hint)
            assert report.verdict is Verdict.SUSPICIOUS, (auto_map, report.findings)
            found = [f for f in report.findings if f.rule == "remote-code-reference"]
            assert found and found[0].global_ == "evil/repo" and "evil/repo" in found[0].message
    pipelines = {"custom_pipelines": {"x": {"impl": "evil/repo--pipe.P", "pt": ["AutoModel"]}}}
    report = scan.bytes(json.dumps(pipelines).encode(), name_hint="config.json")
    assert report.verdict is Verdict.SUSPICIOUS


def test_same_repo_auto_map_is_evidence_only(scan):
    report = scan.bytes(_config({"AutoModel": "modeling_x.XModel"}), name_hint="config.json")
    assert report.verdict is Verdict.CLEAN
    assert any(f.rule == "remote-code-local" for f in report.findings)


def test_cross_repo_reference_runs_the_other_repos_code(tmp_path: Path, scan):
    """transformers resolves the part before ``--`` as a repository id; a local folder id lets
    the proof run offline. The scanned repository holds only its config.json."""
    root = tmp_path / "repos"
    (root / "scanned").mkdir(parents=True)
    (root / "other").mkdir()
    config = _config({"AutoConfig": "repos/other--configuration_x.XConfig"})
    (root / "scanned" / "config.json").write_bytes(config)
    (root / "other" / "configuration_x.py").write_text(
        f"{marker_command()}\n"
        "from transformers import PretrainedConfig\n"
        "class XConfig(PretrainedConfig):\n    model_type = 'custom'\n"
    )
    loader = (
        "import sys\nfrom transformers import AutoConfig\n"
        "AutoConfig.from_pretrained(sys.argv[1] + '/scanned', trust_remote_code=True)"
    )
    assert payload_runs(loader, root)
    assert scan.bytes(config, name_hint="config.json").verdict is Verdict.SUSPICIOUS
