"""``POST policies/preview`` over HTTP: a dry run of a global policy change against the files and
cards the vault holds. A policy that would block a seeded file or repo shows it, one that would
not does not, a relaxed policy shows what it unblocks, and nothing is ever saved."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.servers import RunningServer, mint_token

MALICIOUS_PICKLE = b"\x80\x02cposix\nsystem\nX\x0c\x00\x00\x00echo pwned!\n\x85R."
MIT_CARD = b"---\nlicense: mit\n---\n# preview\n"
REPO_ID = "team/preview"


@pytest.fixture(scope="module")
def seeded(standalone_server: RunningServer) -> str:
    """An hf-local repository with an MIT card, a clean config and a malicious pickle."""
    s = standalone_server
    key = f"preview-{uuid.uuid4().hex[:8]}"
    r = httpx.post(
        s.api("repositories"), json={"key": key, "kind": "hf-local"}, headers=s.headers()
    )
    assert r.status_code == 201, r.text
    api = HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token)
    api.create_repo(REPO_ID)
    api.create_commit(
        REPO_ID,
        [
            CommitOperationAdd("README.md", MIT_CARD),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
            CommitOperationAdd("weights/model.pkl", MALICIOUS_PICKLE),
        ],
        commit_message="seed",
    )
    # Browsing the files scans them: the preview reads stored verdicts only.
    r = httpx.get(
        s.api(f"repositories/{key}/hub/models/{REPO_ID}/files"), headers=s.headers(), timeout=60
    )
    assert r.status_code == 200, r.text
    verdicts = {f["path"]: f.get("verdict") for f in r.json()["files"]}
    if verdicts.get("weights/model.pkl") != "malicious":  # browse may not scan: a download does
        httpx.get(
            f"{s.hf_endpoint(key)}/{REPO_ID}/resolve/main/weights/model.pkl", headers=s.headers()
        )
    return key


def _policies(s: RunningServer) -> list[dict[str, Any]]:
    r = httpx.get(s.api("policies"), headers=s.headers())
    assert r.status_code == 200, r.text
    return r.json()["policies"]  # type: ignore[no-any-return]


def _preview(s: RunningServer, policies: object, token: str | None = None) -> httpx.Response:
    return httpx.post(
        s.api("policies/preview"),
        json={"policies": policies},
        headers=s.headers(token),
        timeout=60,
    )


def _mine(body: dict[str, Any], key: str) -> list[tuple[str, str | None, str]]:
    return sorted(
        (i["change"], i["path"], i["policy"]) for i in body["items"] if i["repository"] == key
    )


def _with(policies: list[dict[str, Any]], name: str, **change: Any) -> list[dict[str, Any]]:
    out = copy.deepcopy(policies)
    for p in out:
        if p["name"] == name:
            params = change.pop("params", None)
            p.update(change)
            if params is not None:
                p["params"] = {**p.get("params", {}), **params}
    return out


def test_unchanged_policies_block_only_the_malicious_file(
    standalone_server: RunningServer, seeded: str
) -> None:
    s = standalone_server
    r = _preview(s, _policies(s))
    assert r.status_code == 200, r.text
    body = r.json()
    assert _mine(body, seeded) == [("still-blocked", "weights/model.pkl", "malicious-models")]
    assert body["checked"]["files"] >= 3 and body["truncated"] is False


def test_denying_mit_everywhere_blocks_the_seeded_repo(
    standalone_server: RunningServer, seeded: str
) -> None:
    s = standalone_server
    before = _policies(s)
    proposed = _with(
        before,
        "approved-licenses",
        params={"deny": ["MIT"], "repository_kinds": ["hf-local", "hf-remote"]},
    )
    r = _preview(s, proposed)
    assert r.status_code == 200, r.text
    body = r.json()
    assert _mine(body, seeded) == [
        ("newly-blocked", None, "approved-licenses"),
        ("still-blocked", "weights/model.pkl", "malicious-models"),
    ]
    item = next(i for i in body["items"] if i["repository"] == seeded and i["path"] is None)
    assert item["repo_id"] == REPO_ID and "MIT" in item["reason"] and len(item["commit"]) == 40
    assert body["counts"]["newly-blocked"] >= 1
    # A dry run: the stored policies are what they were.
    assert _policies(s) == before


def test_relaxing_the_scan_policy_shows_what_it_unblocks(
    standalone_server: RunningServer, seeded: str
) -> None:
    s = standalone_server
    before = _policies(s)
    r = _preview(s, _with(before, "malicious-models", action="warn"))
    assert r.status_code == 200, r.text
    assert _mine(r.json(), seeded) == [("unblocked", "weights/model.pkl", "malicious-models")]
    # Nothing saved: the file is still refused.
    got = httpx.get(
        f"{s.hf_endpoint(seeded)}/{REPO_ID}/resolve/main/weights/model.pkl", headers=s.headers()
    )
    assert got.status_code == 403, got.text
    assert _policies(s) == before


def test_refused_like_a_put(standalone_server: RunningServer, seeded: str) -> None:
    s = standalone_server
    policies = _policies(s)
    bad = _preview(s, [*policies, {"name": "x", "kind": "nope"}])
    assert bad.status_code == 400 and "kind" in bad.text
    missing = _preview(s, [p for p in policies if p["name"] != "malicious-models"])
    assert missing.status_code == 400 and "malicious-models" in missing.text
    reader = mint_token(s.data_dir, "read", "preview-reader", seeded)
    assert _preview(s, policies, reader).status_code == 403
