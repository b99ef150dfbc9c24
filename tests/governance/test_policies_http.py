"""Policies say what they do: the action of a policy bounds every parameter (an ``audit``
override never blocks, whatever ``unlicensed`` says), the API shows each policy's effect, and
what cannot mean anything is refused on write with the reason."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub import errors as hf_errors

from tests.servers import RunningServer


def _repository(s: RunningServer, policies: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        s.api("repositories"),
        json={
            "key": f"pol-{uuid.uuid4().hex[:6]}",
            "kind": "hf-local",
            "config": {"policies": policies},
        },
        headers=s.headers(),
    )


def _unlicensed_model(s: RunningServer, key: str) -> str:
    repo_id = f"team/nolicence-{uuid.uuid4().hex[:6]}"
    api = HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token)
    api.create_repo(repo_id)
    api.create_commit(
        repo_id, [CommitOperationAdd("config.json", b'{"model_type": "bert"}')], commit_message="c"
    )
    return repo_id


def test_audit_override_never_blocks(standalone_server: RunningServer, tmp_path: Path) -> None:
    s = standalone_server
    applies_here = {"name": "approved-licenses", "params": {"repository_kinds": ["hf-local"]}}
    blocking = _repository(s, [applies_here])
    audited = _repository(s, [{**applies_here, "action": "audit"}])
    assert blocking.status_code == audited.status_code == 201, (blocking.text, audited.text)
    blocking_key, audited_key = blocking.json()["key"], audited.json()["key"]
    # the global policy says unlicensed: block; under action audit that is an audit event only
    with pytest.raises(hf_errors.GatedRepoError, match="has no licence"):
        hf_hub_download(
            _unlicensed_model(s, blocking_key),
            "config.json",
            endpoint=s.hf_endpoint(blocking_key),
            token=s.admin_token,
            cache_dir=tmp_path / "a",
        )
    repo_id = _unlicensed_model(s, audited_key)
    path = hf_hub_download(
        repo_id,
        "config.json",
        endpoint=s.hf_endpoint(audited_key),
        token=s.admin_token,
        cache_dir=tmp_path / "b",
    )
    assert Path(path).read_bytes() == b'{"model_type": "bert"}'
    events = httpx.get(s.api("audit"), headers=s.headers()).json()["events"]
    assert any(e["action"] == "policy.audit" and repo_id in (e["subject"] or "") for e in events)


def test_policies_show_what_they_do(standalone_server: RunningServer) -> None:
    r = httpx.get(standalone_server.api("policies"), headers=standalone_server.headers())
    assert r.status_code == 200
    by_name = {p["name"]: p for p in r.json()["policies"]}
    summary = by_name["approved-licenses"]["summary"]
    assert "no or unreadable licence: block" in summary
    assert "approved list: warn" in summary


@pytest.mark.parametrize(
    ("policies", "reason"),
    [
        (
            [{"name": "approved-licenses", "kind": "license", "params": {"unlicenced": "audit"}}],
            "unknown parameter 'unlicenced'",
        ),
        (
            [{"name": "approved-licenses", "kind": "license", "params": {"unlicensed": "allow"}}],
            "'unlicensed' must be one of",
        ),
        ([{"name": "x", "kind": "license", "params": {"deny": ["GPL 3"]}}], "'deny' entry"),
        ([{"name": "x", "kind": "license", "mode": "audit"}], "unknown field"),
        ([{"name": "x", "kind": "scan", "params": {"block": ["evil"]}}], "'block' has 'evil'"),
        ([{"name": "x", "kind": "scan"}, {"name": "x", "kind": "scan"}], "same name"),
    ],
)
def test_policies_put_refuses_what_means_nothing(
    standalone_server: RunningServer, policies: list[dict[str, Any]], reason: str
) -> None:
    s = standalone_server
    before = httpx.get(s.api("policies"), headers=s.headers()).json()
    # every default policy stays listed (leaving one out is refused for another reason)
    named = {p["name"] for p in policies}
    kept = [
        {k: p[k] for k in ("name", "kind", "action", "params")}
        for p in before["policies"]
        if p["name"] not in named
    ]
    r = httpx.put(s.api("policies"), json={"policies": kept + policies}, headers=s.headers())
    assert r.status_code == 400, r.text
    assert reason in r.json()["message"]
    assert httpx.get(s.api("policies"), headers=s.headers()).json() == before


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"name": "approved-licenses", "action": "ignore"}, "'action' must be one of"),
        ({"name": "approved-licenses", "params": {"deny": "MIT"}}, "list of strings"),
        ({"name": "no-such-policy", "action": "audit"}, "'kind' must be one of"),
    ],
)
def test_repository_overrides_are_validated(
    standalone_server: RunningServer, override: dict[str, Any], reason: str
) -> None:
    r = _repository(standalone_server, [override])
    assert r.status_code == 400, r.text
    assert reason in r.json()["message"]
