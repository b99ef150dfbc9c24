"""A hostile model card (YAML aliases that expand to a billion nodes, publishable by anyone on a
public hub) is a policy violation with a clear reason, and never stalls the server: a latency
probe hitting another endpoint every 50 ms keeps being answered while the card is read through
every path that reads cards (repo info, downloads, the browse API, bundles)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub import errors as hf_errors

from tests.latency_probe import latency_probe
from tests.servers import RunningServer

MAX_PROBE_SECONDS = 1.0
"""A stalled event loop stalls the probe for as long as the stall (minutes before the fix). On a
loaded 2-core machine a healthy server answers within tens of ms; 1 s leaves room for noise."""


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """``width ** levels`` nodes once expanded, in a few hundred bytes; ``license: mit`` first
    so that only the bomb can make the card unreadable."""
    lines = ["license: mit", f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    lines.append(f"tags: *l{levels - 1}")
    return "---\n" + "\n".join(lines) + "\n---\n# a model\n"


def test_billion_laughs_card_is_a_violation_and_no_stall(
    standalone_server: RunningServer, tmp_path: Path
) -> None:
    s = standalone_server
    key = f"cards-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        s.api("repositories"),
        json={
            "key": key,
            "kind": "hf-local",
            # the licence policy applies to this local repository too
            "config": {
                "policies": [
                    {"name": "approved-licenses", "params": {"repository_kinds": ["hf-local"]}}
                ]
            },
        },
        headers=s.headers(),
    )
    assert r.status_code == 201, r.text
    repo_id = f"evil/laughs-{uuid.uuid4().hex[:6]}"
    api = HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token)
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("README.md", billion_laughs().encode()),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
        ],
        commit_message="laughs",
    )
    reason = "its YAML aliases expand to more than"
    with latency_probe(s.api("info"), s.headers(), interval=0.05) as probe:
        info = api.model_info(repo_id)  # repo info carries the card data
        assert info.card_data is None or not info.card_data.get("tags")
        with pytest.raises(hf_errors.GatedRepoError, match=reason):
            hf_hub_download(
                repo_id,
                "config.json",
                endpoint=s.hf_endpoint(key),
                token=s.admin_token,
                cache_dir=tmp_path,
            )
        r = httpx.get(s.api(f"repositories/{key}/hub/models/{repo_id}/files"), headers=s.headers())
        assert r.status_code == 200, r.text
        decision = r.json()["decision"]
        assert decision["status"] == "blocked"
        assert any(reason in v["reason"] for v in decision["violations"])
        spec = {
            "name": f"laughs-{uuid.uuid4().hex[:6]}",
            "version": "1",
            "components": [{"kind": "hub", "repository": key, "repo_id": repo_id}],
        }
        r = httpx.post(s.api("bundles"), json=spec, headers=s.headers(), timeout=120)
        assert r.status_code == 403 and reason in r.text, r.text
    print(f"latency probe during the hostile card: {probe.summary()}")
    assert probe.count >= 5 and not probe.failures, probe.summary()
    assert probe.max < MAX_PROBE_SECONDS, probe.summary()
