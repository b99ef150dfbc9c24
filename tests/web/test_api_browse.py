"""The sidebar's browse endpoint: files of a Hub repo with sizes, verdicts and policy status, the
licence and the repo-level decision; paging; a waiver turns a blocked file into a waived one."""

from __future__ import annotations

import uuid

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

from tests.servers import RunningServer

MALICIOUS_PICKLE = b"\x80\x02cposix\nsystem\nX\x0c\x00\x00\x00echo pwned!\n\x85R."
CARD = b"---\nlicense: apache-2.0\n---\n# demo\n"


def files_url(s: RunningServer, repo_id: str, **query: str) -> tuple[str, dict[str, str]]:
    return s.api(f"repositories/models/hub/models/{repo_id}/files"), query


def test_files_verdicts_licence_and_waiver(standalone_server: RunningServer) -> None:
    s = standalone_server
    api = HfApi(endpoint=s.hf_endpoint(), token=s.admin_token)
    repo_id = f"team/browse-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("README.md", CARD),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
            CommitOperationAdd("weights/model.pkl", MALICIOUS_PICKLE),
        ],
        commit_message="seed",
    )
    url, _ = files_url(s, repo_id)
    r = httpx.get(url, params={"revision": "main"}, headers=s.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["repo_id"] == repo_id and len(body["commit"]) == 40
    assert body["license"].lower() == "apache-2.0"
    assert body["total"] == 3 and body["next"] is None
    assert body["decision"]["status"] in ("allowed", "warning")
    by_path = {f["path"]: f for f in body["files"]}
    assert list(by_path) == ["README.md", "config.json", "weights/model.pkl"]
    assert by_path["config.json"]["verdict"] == "clean"
    assert by_path["config.json"]["status"] == "clean"
    bad = by_path["weights/model.pkl"]
    assert bad["verdict"] == "malicious" and bad["status"] == "blocked"
    assert bad["size"] == len(MALICIOUS_PICKLE) and len(bad["sha256"]) == 64
    assert bad["violations"][0]["policy"] == "malicious-models"
    assert bad["violations"][0]["reason"]

    r = httpx.post(
        s.api("waivers"),
        json={
            "policy": "malicious-models",
            "sha256": bad["sha256"],
            "justification": "security team reviewed it",
            "expires_in_seconds": 3600,
        },
        headers=s.headers(),
    )
    assert r.status_code == 201, r.text
    body = httpx.get(url, headers=s.headers()).json()
    bad = {f["path"]: f for f in body["files"]}["weights/model.pkl"]
    assert bad["status"] == "waived" and bad["verdict"] == "malicious"
    assert bad["waived"][0]["policy"] == "malicious-models"
    httpx.delete(s.api(f"waivers/{r.json()['id']}"), headers=s.headers())


def test_files_are_paged(standalone_server: RunningServer) -> None:
    s = standalone_server
    api = HfApi(endpoint=s.hf_endpoint(), token=s.admin_token)
    repo_id = f"team/many-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [CommitOperationAdd(f"shards/{i:03d}.txt", f"{i}".encode()) for i in range(25)],
        commit_message="many",
    )
    url, _ = files_url(s, repo_id)
    seen: list[str] = []
    after = ""
    pages = 0
    while True:
        r = httpx.get(url, params={"limit": "10", "after": after}, headers=s.headers())
        assert r.status_code == 200, r.text
        body = r.json()
        assert ("total" in body) == (pages == 0)
        seen += [f["path"] for f in body["files"]]
        pages += 1
        if not body["next"]:
            break
        after = body["next"]
    assert pages == 3 and seen == [f"shards/{i:03d}.txt" for i in range(25)]


def test_files_errors(standalone_server: RunningServer) -> None:
    s = standalone_server
    r = httpx.get(s.api("repositories/models/hub/models/nobody/nothing/files"), headers=s.headers())
    assert r.status_code == 404 and r.json()["code"]
    r = httpx.get(s.api("repositories/models/hub/models/nobody/nothing/files"))
    assert r.status_code == 401
