"""Issue 14, domain part: release refs that cannot be shadowed, content addressing that grants
nothing, virtual repositories that do not widen access, tokens whose limits hold (lifetimes,
upload URLs, failed attempts), explicit policy switch-off, case-insensitive repo ids.

Each test drives a real server with the stock huggingface_hub client or raw HTTP where the client
cannot say the hostile thing (an ``lfsFile`` line for bytes it never had)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub import errors as hf_errors

from modelvault_jlab.core.audit import AuditLog
from modelvault_jlab.core.identity import Principal
from modelvault_jlab.core.throttle import AuthThrottle, ThrottleSettings
from modelvault_jlab.errors import TooManyRequestsError
from tests.servers import RunningServer, running, start_standalone


def uid() -> str:
    return uuid.uuid4().hex[:8]


def _repository(s: RunningServer, kind: str, *, public: bool = False, **config: Any) -> str:
    key = f"{kind}-{uid()}"
    r = httpx.post(
        s.api("repositories"),
        headers=s.headers(),
        json={"key": key, "kind": kind, "public": public, "config": config},
    )
    assert r.status_code == 201, r.text
    return key


def _token(
    s: RunningServer, scope: str, repositories: list[str], user: str = "eve"
) -> dict[str, Any]:
    r = httpx.post(
        s.api("tokens"),
        headers=s.headers(),
        json={
            "name": f"{user}-{uid()}",
            "scope": scope,
            "repositories": repositories,
            "user": user,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _commit_lfs(
    s: RunningServer, key: str, repo_id: str, token: str, sha: str, size: int
) -> httpx.Response:
    """A commit whose only line points at an LFS object by its sha256 (what a client sends
    after the LFS batch said the object is already there)."""
    lines = [
        {"key": "header", "value": {"summary": "add weights"}},
        {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": sha, "size": size}},
    ]
    return httpx.post(
        f"{s.hf_endpoint(key)}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={**s.headers(token), "Content-Type": "application/x-ndjson"},
    )


def _batch(
    s: RunningServer, key: str, repo_id: str, token: str, sha: str, size: int
) -> dict[str, Any]:
    r = httpx.post(
        f"{s.hf_endpoint(key)}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": sha, "size": size}]},
        headers=s.headers(token),
    )
    assert r.status_code == 200, r.text
    return r.json()["objects"][0]  # type: ignore[no-any-return]


# -- 3. release integrity --------------------------------------------------------------------
def test_bundle_refs_are_reserved_and_a_bundle_tag_is_never_shadowed(
    standalone_server: RunningServer,
) -> None:
    s = standalone_server
    key = _repository(s, "hf-local")
    writer = _token(s, "write", [key])["token"]
    api = HfApi(endpoint=s.hf_endpoint(key), token=writer)
    repo_id = f"team/rel-{uid()}"
    api.create_repo(repo_id)
    pinned = api.upload_file(path_or_fileobj=b"released", path_in_repo="w.bin", repo_id=repo_id)
    head = api.upload_file(path_or_fileobj=b"tampered", path_in_repo="w.bin", repo_id=repo_id)

    # Every way a writer makes a ref is refused in the bundle namespace.
    for make in (
        lambda: api.create_branch(repo_id, branch="bundle/rel/2.0"),
        lambda: api.create_tag(repo_id, tag="bundle/rel/2.0"),
    ):
        with pytest.raises(hf_errors.HfHubHTTPError) as err:
            make()
        assert err.value.response.status_code == 409, err.value
        assert "reserved for release bundles" in str(err.value)

    # A branch and a tag never share a name (the Hub order, branch first, then cannot matter).
    api.create_tag(repo_id, tag=f"v-{uid()}")
    tag = next(t.name for t in api.list_repo_refs(repo_id).tags)
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        api.create_branch(repo_id, branch=tag)
    assert err.value.response.status_code == 409
    api.create_branch(repo_id, branch="dev")
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        api.create_tag(repo_id, tag="dev")
    assert err.value.response.status_code == 409

    # A data dir from before the namespace was reserved: the bundle's tag and a writer's branch
    # of the same name. The pin still means the bundle's commit, and the branch takes no commits.
    con = sqlite3.connect(s.data_dir / "metadata.sqlite3", timeout=30)
    with con:
        hub_repo = con.execute(
            "SELECT id FROM hub_repos WHERE repository = ? AND repo_id = ?", (key, repo_id)
        ).fetchone()[0]
        con.executemany(
            "INSERT INTO refs(hub_repo, kind, name, commit_sha) VALUES (?, ?, ?, ?)",
            [
                (hub_repo, "tag", "bundle/rel/1.0", pinned.oid),
                (hub_repo, "branch", "bundle/rel/1.0", head.oid),
            ],
        )
    con.close()
    path = hf_hub_download(
        repo_id, "w.bin", revision="bundle/rel/1.0", endpoint=s.hf_endpoint(key), token=writer
    )
    assert Path(path).read_bytes() == b"released"
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        api.upload_file(
            path_or_fileobj=b"more",
            path_in_repo="x.bin",
            repo_id=repo_id,
            revision="bundle/rel/1.0",
        )
    assert err.value.response.status_code == 409


# -- 4. isolation between repositories -------------------------------------------------------
def test_a_sha256_is_not_a_capability(standalone_server: RunningServer) -> None:
    s = standalone_server
    vault_key, own_key = _repository(s, "hf-local"), _repository(s, "hf-local")
    secret = b"weights of another team " + uid().encode()
    sha, size = hashlib.sha256(secret).hexdigest(), len(secret)
    HfApi(endpoint=s.hf_endpoint(vault_key), token=s.admin_token).create_repo("corp/secret")
    HfApi(endpoint=s.hf_endpoint(vault_key), token=s.admin_token).upload_file(
        path_or_fileobj=secret, path_in_repo="w.bin", repo_id="corp/secret"
    )
    eve = _token(s, "write", [own_key])["token"]
    mine = f"eve/x-{uid()}"  # unique: huggingface_hub's cache outlives a test
    HfApi(endpoint=s.hf_endpoint(own_key), token=eve).create_repo(mine)

    # The batch asks for the bytes (it does not reveal that the vault has them) ...
    obj = _batch(s, own_key, mine, eve, sha, size)
    assert "upload" in obj.get("actions", {}), obj
    verify = httpx.post(
        f"{s.hf_endpoint(own_key)}/{mine}.git/info/lfs/objects/verify",
        json={"oid": sha, "size": size},
        headers=s.headers(eve),
    )
    assert verify.status_code == 404
    # ... and a commit naming the blob by its sha256 alone is refused like an unknown object.
    refused = _commit_lfs(s, own_key, mine, eve, sha, size)
    assert refused.status_code == 400 and "never uploaded" in refused.text, refused.text
    with pytest.raises(hf_errors.EntryNotFoundError):
        hf_hub_download(mine, "w.bin", endpoint=s.hf_endpoint(own_key), token=eve)

    # Whoever has the bytes uploads them (verified, stored once) and may then commit them.
    assert httpx.put(obj["actions"]["upload"]["href"], content=secret).status_code == 200
    assert _commit_lfs(s, own_key, mine, eve, sha, size).status_code == 200
    path = hf_hub_download(mine, "w.bin", endpoint=s.hf_endpoint(own_key), token=eve)
    assert Path(path).read_bytes() == secret

    # A writer who can read a repository holding the blob reuses it without uploading.
    both = _token(s, "write", [vault_key, own_key], user="team")["token"]
    theirs = f"team/y-{uid()}"
    HfApi(endpoint=s.hf_endpoint(own_key), token=both).create_repo(theirs)
    assert "actions" not in _batch(s, own_key, theirs, both, sha, size)
    assert _commit_lfs(s, own_key, theirs, both, sha, size).status_code == 200


def test_a_virtual_repository_does_not_widen_access(standalone_server: RunningServer) -> None:
    s = standalone_server
    private = _repository(s, "hf-local")
    virtual = _repository(s, "hf-virtual", public=True, members=[private])
    repo_id = f"corp/m-{uid()}"
    HfApi(endpoint=s.hf_endpoint(private), token=s.admin_token).create_repo(repo_id)
    HfApi(endpoint=s.hf_endpoint(private), token=s.admin_token).upload_file(
        path_or_fileobj=b"private", path_in_repo="w.bin", repo_id=repo_id
    )
    only_virtual = _token(s, "read", [virtual])["token"]
    for token in (False, only_virtual):
        with pytest.raises(hf_errors.RepositoryNotFoundError):
            hf_hub_download(repo_id, "w.bin", endpoint=s.hf_endpoint(virtual), token=token)
    both = _token(s, "read", [virtual, private])["token"]
    path = hf_hub_download(repo_id, "w.bin", endpoint=s.hf_endpoint(virtual), token=both)
    assert Path(path).read_bytes() == b"private"


# -- 6. tokens ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "-5", "0", "true", '"60"', "1e300", "[]"]
)
def test_token_lifetimes_are_finite_positive_numbers(
    standalone_server: RunningServer, value: str
) -> None:
    s = standalone_server
    parent = _token(s, "read", [], user="kernel-user")
    for token in (parent["token"], s.admin_token):  # a child token, and an admin's token
        r = httpx.post(
            s.api("tokens"),
            content=f'{{"name": "k", "scope": "read", "expires_in_seconds": {value}}}',
            headers={**s.headers(token), "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (value, r.text)
    ok = httpx.post(
        s.api("tokens"),
        json={"name": "k", "scope": "read", "expires_in_seconds": 60},
        headers=s.headers(parent["token"]),
    )
    assert ok.status_code == 201 and ok.json()["expires_at"] <= time.time() + 61


@pytest.mark.parametrize("value", ["true", "NaN", "Infinity", "0", '"60"'])
def test_waiver_lifetimes_are_positive_numbers(
    standalone_server: RunningServer, value: str
) -> None:
    """The same class in waivers: ``true`` is an int to Python and was a one-second waiver."""
    s = standalone_server
    body = (
        '{"policy": "malicious-models", "justification": "reviewed by security", '
        f'"sha256": "{"a" * 64}", "expires_in_seconds": {value}}}'
    )
    r = httpx.post(
        s.api("waivers"), content=body, headers={**s.headers(), "Content-Type": "application/json"}
    )
    assert r.status_code == 400, (value, r.text)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-1"])
def test_repository_durations_are_finite(standalone_server: RunningServer, value: str) -> None:
    """The same class in repository settings: a NaN TTL passed the 'not negative' check."""
    s = standalone_server
    body = (
        f'{{"key": "hf-remote-{uid()}", "kind": "hf-remote", '
        f'"config": {{"revision_ttl_seconds": {value}}}}}'
    )
    r = httpx.post(
        s.api("repositories"),
        content=body,
        headers={**s.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text


def test_an_upload_url_dies_with_its_token(standalone_server: RunningServer) -> None:
    s = standalone_server
    key = _repository(s, "hf-local")
    issued = _token(s, "write", [key])
    repo_id = f"eve/u-{uid()}"
    HfApi(endpoint=s.hf_endpoint(key), token=issued["token"]).create_repo(repo_id)
    data = b"uploaded after revocation " + uid().encode()
    obj = _batch(s, key, repo_id, issued["token"], hashlib.sha256(data).hexdigest(), len(data))
    href = obj["actions"]["upload"]["href"]
    assert httpx.delete(s.api(f"tokens/{issued['id']}"), headers=s.headers()).status_code in (
        200,
        204,
    )
    r = httpx.put(href, content=data)
    assert r.status_code == 401 and "revoked" in r.text, r.text
    # The URL is bound to the token it was granted to: naming another token breaks the signature.
    other = href.replace(f"tok={issued['id']}", "tok=")
    assert httpx.put(other, content=data).status_code == 401


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own with the default failure throttle (other test servers disable it)."""
    data_dir = tmp_path_factory.mktemp("throttled") / "vault"
    with running(start_standalone(data_dir, env={"MODELVAULT_AUTH_FAILURE_BURST": "30"})) as s:
        yield s


def test_failed_authentications_are_throttled_and_audited(throttled: RunningServer) -> None:
    s = throttled
    bogus = {"Authorization": f"Bearer mvt_{'0' * 12}_guess"}
    statuses = [httpx.get(s.api("repositories"), headers=bogus).status_code for _ in range(30)]
    assert statuses == [401] * 30, statuses
    for _ in range(30):  # bounded: the bucket refills slowly, so a 429 comes within a few tries
        r = httpx.get(s.api("repositories"), headers=bogus)
        if r.status_code != 401:
            break
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text
    time.sleep(int(r.headers["Retry-After"]) + 0.5)
    events = httpx.get(
        s.api("audit"), params={"action": "auth.failure"}, headers=s.headers()
    ).json()["events"]
    # audited, aggregated: not one row per attempt
    assert 1 <= len(events) <= 2 and events[0]["remote_addr"] == "127.0.0.1", events
    assert sum(e["detail"]["failures"] for e in events) >= 1


def test_failure_audit_rows_are_aggregated_and_memory_bounded() -> None:
    """The throttle's bookkeeping on its own, with a controlled clock."""

    class Recorder(AuditLog):
        def __init__(self) -> None:
            self.rows: list[dict[str, Any]] = []

        def record(
            self,
            who: Principal,
            action: str,
            *,
            repository: str | None = None,
            subject: str | None = None,
            **detail: Any,
        ) -> None:
            self.rows.append({"action": action, "addr": who.remote_addr, **detail})

    now = [0.0]
    audit = Recorder()
    throttle = AuthThrottle(
        audit, ThrottleSettings(burst=3, per_second=1.0, max_sources=100), clock=lambda: now[0]
    )
    for _ in range(3):
        throttle.failed("10.0.0.1", "unknown token")
    with pytest.raises(TooManyRequestsError):
        throttle.check("10.0.0.1")
    throttle.check("10.0.0.2")  # another address is not affected
    now[0] = 61.0
    throttle.check("10.0.0.1")  # refilled
    throttle.failed("10.0.0.1", "unknown token")
    assert [r["failures"] for r in audit.rows] == [1, 3]  # first at once, then one row per minute
    audit.rows.clear()
    now[0] = 130.0  # a fresh audit window
    for i in range(1000):  # a flood from many addresses: bounded memory, bounded audit rows
        throttle.failed(f"192.0.2.{i}", "x")
    assert len(throttle._buckets) <= 100
    assert len(audit.rows) == ThrottleSettings().max_audit_rows
    now[0] = 200.0
    throttle.failed("10.0.0.9", "x")
    summary = audit.rows[-2]
    assert summary["addr"] is None and summary["failures"] == 900  # the rest, summed


# -- 7. policies, repo ids -------------------------------------------------------------------
def test_switching_governance_off_is_explicit_and_audited(throttled: RunningServer) -> None:
    s = throttled
    empty = httpx.put(s.api("policies"), json={"policies": []}, headers=s.headers())
    assert empty.status_code == 400 and '"enabled": false' in empty.json()["message"]
    before = httpx.get(s.api("policies"), headers=s.headers()).json()["policies"]
    off = [{"name": p["name"], "enabled": False} for p in before if p["name"] != "custom-code"]
    kept = [p for p in before if p["name"] == "custom-code"]
    r = httpx.put(s.api("policies"), json={"policies": kept + off}, headers=s.headers())
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["policies"]] == ["custom-code"]
    events = httpx.get(
        s.api("audit"), params={"action": "policy.disable"}, headers=s.headers()
    ).json()["events"]
    assert events[0]["actor"] == "admin"
    assert sorted(events[0]["detail"]["names"]) == sorted(p["name"] for p in off)
    # what GET answers can be sent back as it is: the switched-off defaults stay off
    listed = httpx.get(s.api("policies"), headers=s.headers()).json()["policies"]
    assert {p["name"] for p in listed if p.get("enabled") is False} == {p["name"] for p in off}
    again = httpx.put(s.api("policies"), json={"policies": listed}, headers=s.headers())
    assert again.status_code == 200, again.text
    assert [p["name"] for p in again.json()["policies"]] == ["custom-code"]
    restored = httpx.put(s.api("policies"), json={"policies": before}, headers=s.headers())
    assert restored.status_code == 200, restored.text


def test_repo_ids_are_case_insensitive_like_the_hub(standalone_server: RunningServer) -> None:
    s = standalone_server
    key = _repository(s, "hf-local")
    api = HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token)
    name = f"alice/Tiny-{uid()}"
    api.create_repo(name)
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        api.create_repo(name.lower())
    assert err.value.response.status_code == 409
    api.create_repo(name.upper(), exist_ok=True)  # the client's exist_ok reads the 409
    api.upload_file(path_or_fileobj=b"one repo", path_in_repo="f.txt", repo_id=name.lower())
    path = hf_hub_download(name.upper(), "f.txt", endpoint=s.hf_endpoint(key), token=s.admin_token)
    assert Path(path).read_bytes() == b"one repo"
    assert "f.txt" in api.list_repo_files(name)
