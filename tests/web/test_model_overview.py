"""The model page's overview endpoint: README text, card summary, refs and commits, the base-model
chain followed through the vault (bounded, cycle-safe), the bundles that pin the repo."""

from __future__ import annotations

import uuid

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

from tests.servers import RunningServer


def card(base: str | None, licence: str = "apache-2.0") -> bytes:
    line = f"base_model: {base}\n" if base else ""
    return f"---\nlicense: {licence}\n{line}tags: [demo, 3]\n---\n# model\n".encode()


def make_repo(api: HfApi, repo_id: str, readme: bytes) -> None:
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [CommitOperationAdd("README.md", readme), CommitOperationAdd("config.json", b"{}")],
        commit_message="seed",
    )


def overview(s: RunningServer, repo_id: str, **query: str) -> httpx.Response:
    url = s.api(f"repositories/models/hub/models/{repo_id}/overview")
    return httpx.get(url, params=query, headers=s.headers())


def test_overview_chain_refs_and_bundles(standalone_server: RunningServer) -> None:
    s = standalone_server
    api = HfApi(endpoint=s.hf_endpoint(), token=s.admin_token)
    tag = uuid.uuid4().hex[:6]
    root, mid, leaf = (f"team/root-{tag}", f"team/mid-{tag}", f"team/leaf-{tag}")
    make_repo(api, root, card(f"absent/upstream-{tag}", "mit"))
    make_repo(api, mid, card(root))
    make_repo(api, leaf, card(mid))
    api.create_tag(leaf, tag="v1")
    r = httpx.post(
        s.api("bundles"),
        json={
            "name": f"rel-{tag}",
            "version": "1.0.0",
            "components": [{"kind": "hub", "repository": "models", "repo_id": leaf}],
        },
        headers=s.headers(),
    )
    assert r.status_code == 201, r.text

    r = overview(s, leaf)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["readme"].endswith("# model\n")
    assert body["card"]["license"] == "apache-2.0"
    assert body["card"]["base_model"] == [mid]
    assert body["card"]["tags"] == ["demo", "3"]
    assert body["card_error"] is None
    assert body["base_chain"] == [
        {"repo_id": mid, "in_vault": True, "license": "apache-2.0"},
        {"repo_id": root, "in_vault": True, "license": "mit"},
        {"repo_id": f"absent/upstream-{tag}", "in_vault": False, "license": None},
    ]
    refs = {(x["kind"], x["name"]) for x in body["refs"]}
    assert ("branch", "main") in refs and ("tag", "v1") in refs
    assert body["commits"][0]["sha"] == body["commit"] and body["commits"][0]["title"] == "seed"
    assert body["bundles"] == [
        {"name": f"rel-{tag}", "version": "1.0.0", "environment": None, "commit": body["commit"]}
    ]
    assert body["source_kind"] == "hf-local" and body["cache"] is None


def test_overview_chain_stops_at_a_cycle(standalone_server: RunningServer) -> None:
    s = standalone_server
    api = HfApi(endpoint=s.hf_endpoint(), token=s.admin_token)
    tag = uuid.uuid4().hex[:6]
    a, b = f"team/a-{tag}", f"team/b-{tag}"
    make_repo(api, a, card(b))
    make_repo(api, b, card(a))
    chain = overview(s, a).json()["base_chain"]
    assert [x["repo_id"] for x in chain] == [b]  # stops where the chain comes back


def test_overview_unknown_repo_is_404(standalone_server: RunningServer) -> None:
    r = overview(standalone_server, f"team/none-{uuid.uuid4().hex[:6]}")
    assert r.status_code == 404, r.text
