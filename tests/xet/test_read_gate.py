"""The Xet read path's gaps closed, through a running server with the stock clients:

- tree/paths-info offer ``xetHash`` only for a file the gate already admits on a stored verdict:
  a never-scanned malicious file makes ``snapshot_download`` take the resolve HEAD, which answers
  the policy error with its reason (not a bare 403 at the reconstruction);
- a read token of a virtual repository names the member the commit resolved in, for the
  requester: the reconstruction asks that member and no other;
- tokens refused with a precise error: a read token used for a write (403), a token of another
  repository (403), a forged or expired one (401, the client's "ask again" is the token route).

Xet files are registered straight in the server's storage (as in test_read_e2e).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download

from modelvault_jlab.core.xet.tokens import XetTokens
from tests.servers import RunningServer
from tests.xet.test_read_e2e import CHUNK, EVIL, _register, _setting

FileInfo = tuple[str, str, int]  # (xet hash, sha256, size)


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _commit(
    endpoint: str, headers: dict[str, str], repo_id: str, files: dict[str, FileInfo]
) -> str:
    lines: list[dict[str, object]] = [
        {"key": "header", "value": {"summary": "xet files", "description": ""}}
    ]
    lines += [
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha, "size": size}}
        for path, (_, sha, size) in files.items()
    ]
    r = httpx.post(
        f"{endpoint}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["commitOid"])


def _xet_files(server: RunningServer) -> tuple[bytes, dict[str, FileInfo]]:
    """A fresh good file and the malicious pickle, as never-scanned Xet files."""
    good = os.urandom(2 * CHUNK + 777)
    chunks = [good[i : i + CHUNK] for i in range(0, len(good), CHUNK)]
    _, files = _register(server, {"good.bin": chunks, "evil.pkl": [EVIL]}, [*chunks, EVIL])
    return good, files


def _tree(server: RunningServer, endpoint: str, repo_id: str) -> dict[str, dict[str, object]]:
    r = httpx.get(
        f"{endpoint}/api/models/{repo_id}/tree/main?recursive=true", headers=server.headers()
    )
    assert r.status_code == 200, r.text
    return {e["path"]: e for e in r.json()}


def test_a_never_scanned_blocked_file_gets_no_xet_hash_and_the_policy_error(
    standalone_server: RunningServer, tmp_path: Path
) -> None:
    s = standalone_server
    repo_id = f"xet/gate-{_uid()}"
    HfApi(endpoint=s.hf_endpoint(), token=s.admin_token).create_repo(repo_id)
    good, files = _xet_files(s)
    _commit(s.hf_endpoint(), s.headers(), repo_id, files)
    # the commit scanned them; a file held but never scanned (a verdict dropped for a rescan,
    # content that arrived another way) has no stored verdict: no xetHash, the HEAD decides
    with sqlite3.connect(s.data_dir / "metadata.sqlite3") as db:
        shas = (files["evil.pkl"][1], files["good.bin"][1])
        db.execute("DELETE FROM scan_results WHERE sha256 IN (?, ?)", shas)
    tree = _tree(s, s.hf_endpoint(), repo_id)
    assert "xetHash" not in tree["evil.pkl"] and "xetHash" not in tree["good.bin"]
    info = httpx.post(
        f"{s.hf_endpoint()}/api/models/{repo_id}/paths-info/main",
        data={"paths": ["evil.pkl"]},
        headers=s.headers(),
    )
    assert info.status_code == 200 and "xetHash" not in info.json()[0]
    mark = len(s.log())
    with pytest.raises(Exception) as caught:
        snapshot_download(
            repo_id, endpoint=s.hf_endpoint(), token=s.admin_token, cache_dir=tmp_path / "c"
        )
    # the policy error with its reason, from the HEAD, and never a reconstruction of evil.pkl
    assert "malicious" in str(caught.value).lower() or "policy" in str(caught.value).lower(), (
        caught.value
    )
    assert f"/cas/v2/reconstructions/{files['evil.pkl'][0]}" not in s.log()[mark:]
    # good.bin was scanned on its HEAD: now the tree offers Xet for it, still not for evil.pkl
    tree = _tree(s, s.hf_endpoint(), repo_id)
    assert tree["good.bin"]["xetHash"] == files["good.bin"][0]
    assert "xetHash" not in tree["evil.pkl"]
    folder = snapshot_download(
        repo_id,
        endpoint=s.hf_endpoint(),
        token=s.admin_token,
        cache_dir=tmp_path / "c2",
        allow_patterns=["good.bin"],
    )
    assert (Path(folder) / "good.bin").read_bytes() == good


def _repository(s: RunningServer, kind: str, **config: object) -> str:
    key = f"{kind}-{_uid()}"
    r = httpx.post(
        s.api("repositories"),
        headers=s.headers(),
        json={"key": key, "kind": kind, "public": False, "config": config},
    )
    assert r.status_code == 201, r.text
    return key


def test_a_virtual_repository_reconstructs_in_the_member_of_the_token(
    standalone_server: RunningServer, tmp_path: Path
) -> None:
    s = standalone_server
    hidden, member = _repository(s, "hf-local"), _repository(s, "hf-local")
    virtual = _repository(s, "hf-virtual", members=[hidden, member])
    repo_id = f"corp/xet-{_uid()}"
    for key in (hidden, member):  # the same repo id in both members; the first is not readable
        HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token).create_repo(repo_id)
    HfApi(endpoint=s.hf_endpoint(hidden), token=s.admin_token).upload_file(
        path_or_fileobj=b"hidden", path_in_repo="other.txt", repo_id=repo_id
    )
    good, files = _xet_files(s)
    commit = _commit(s.hf_endpoint(member), s.headers(), repo_id, {"good.bin": files["good.bin"]})
    r = httpx.post(
        s.api("tokens"),
        headers=s.headers(),
        json={"name": f"v-{_uid()}", "scope": "read", "repositories": [virtual, member]},
    )
    assert r.status_code == 201, r.text
    reader = r.json()["token"]
    endpoint = s.hf_endpoint(virtual)
    head = httpx.head(f"{endpoint}/{repo_id}/resolve/main/good.bin", headers=s.headers(reader))
    assert head.status_code == 200 and head.headers["X-Xet-Hash"] == files["good.bin"][0]
    mark = len(s.log())
    path = hf_hub_download(
        repo_id, "good.bin", endpoint=endpoint, token=reader, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == good
    assert "/cas/v2/reconstructions/" in s.log()[mark:]
    # the token names the member; a token for the virtual repository without one (as SYSTEM
    # would resolve) is not what is issued
    token = httpx.get(
        f"{endpoint}/api/models/{repo_id}/xet-read-token/{commit}", headers=s.headers(reader)
    ).json()
    claims = token["accessToken"].split(".")[1]
    decoded = json.loads(_unb64(claims))
    assert decoded["repository"] == virtual and decoded["member"] == member


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_tokens_are_refused_with_a_precise_error(standalone_server: RunningServer) -> None:
    s = standalone_server
    repo_id = f"xet/tok-{_uid()}"
    HfApi(endpoint=s.hf_endpoint(), token=s.admin_token).create_repo(repo_id)
    _, files = _xet_files(s)
    commit = _commit(s.hf_endpoint(), s.headers(), repo_id, {"good.bin": files["good.bin"]})
    body = httpx.get(
        f"{s.hf_endpoint()}/api/models/{repo_id}/xet-read-token/{commit}", headers=s.headers()
    ).json()
    cas, read = body["casUrl"], {"Authorization": f"Bearer {body['accessToken']}"}
    good = files["good.bin"][0]
    assert httpx.get(f"{cas}/v2/reconstructions/{good}", headers=read).status_code == 200
    # a read token used to write: 403, says why
    r = httpx.post(f"{cas}/v1/xorbs/default/{'0' * 64}", content=b"x", headers=read)
    assert r.status_code == 403 and "read-only" in r.text
    # a token of another repository key at this CAS: 403, says why
    other = _repository(s, "hf-local")
    r = httpx.get(f"{s.hf_endpoint(other)}/cas/v2/reconstructions/{good}", headers=read)
    assert r.status_code == 403 and "another repository" in r.text
    # expired and forged: 401 (the token itself is no good), each with its reason
    key = bytes.fromhex(_setting(s, "xet_token_key"))
    expired, _ = XetTokens(key, 1, clock=lambda: 1000.0).issue(
        "models", "model", repo_id, commit, "read"
    )
    r = httpx.get(
        f"{cas}/v2/reconstructions/{good}", headers={"Authorization": f"Bearer {expired}"}
    )
    assert r.status_code == 401 and "expired" in r.text
    forged, _ = XetTokens(os.urandom(32), 60).issue("models", "model", repo_id, commit, "read")
    r = httpx.get(f"{cas}/v2/reconstructions/{good}", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and "signature" in r.text
