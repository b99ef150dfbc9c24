"""Permission targets over HTTP, with the real huggingface_hub client and a standalone server.

alice is in the vault group ``team-a`` (write on ``team-a/**`` but not ``team-a/secret-*``),
carol is granted read on the same target, dave has nothing. Their tokens are owned by them
(``user:NAME``), so the targets bound what the tokens do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.servers import RunningServer, running, start_standalone

TARGET = {
    "repositories": ["models"],
    "include": ["team-a/**"],
    "exclude": ["team-a/secret-*"],
    "grants": {"group:team-a": "write", "user:carol": "read"},
}


def _token(server: RunningServer, user: str, scope: str = "write") -> str:
    r = httpx.post(
        server.api("tokens"),
        headers=server.headers(),
        json={"name": f"{user}-{scope}", "scope": scope, "user": f"user:{user}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(start_standalone(tmp_path_factory.mktemp("perm") / "data")) as srv:
        admin = HfApi(endpoint=srv.hf_endpoint(), token=srv.admin_token)
        for repo_id in ("team-a/model-1", "team-a/secret-x", "team-b/model-2"):
            admin.create_repo(repo_id)
            admin.upload_file(
                path_or_fileobj=repo_id.encode(), path_in_repo="f.txt", repo_id=repo_id
            )
        r = httpx.put(srv.api("permissions/targets/team-a"), headers=srv.headers(), json=TARGET)
        assert r.status_code == 200, r.text
        r = httpx.put(
            srv.api("permissions/groups/team-a"), headers=srv.headers(), json={"members": ["alice"]}
        )
        assert r.status_code == 200, r.text
        yield srv


@pytest.fixture(scope="module")
def tokens(server: RunningServer) -> dict[str, str]:
    return {
        "alice": _token(server, "alice"),
        "alice-read": _token(server, "alice", "read"),
        "carol": _token(server, "carol"),
        "dave": _token(server, "dave", "admin"),
    }


def _download(server: RunningServer, token: str, repo_id: str, tmp_path: Path) -> bytes:
    # a cache of its own: huggingface_hub answers from its cache when the server refuses
    cache = tmp_path / f"cache-{len(list(tmp_path.iterdir()))}"
    path = hf_hub_download(
        repo_id, "f.txt", endpoint=server.hf_endpoint(), token=token, cache_dir=cache
    )
    return Path(path).read_bytes()


def test_reads_follow_include_and_exclude_patterns(
    server: RunningServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    assert _download(server, tokens["alice"], "team-a/model-1", tmp_path) == b"team-a/model-1"
    assert _download(server, tokens["carol"], "team-a/model-1", tmp_path) == b"team-a/model-1"
    # excluded by pattern, outside the include, or no grant at all: the repo does not exist
    for who, repo_id in (
        ("alice", "team-a/secret-x"),
        ("alice", "team-b/model-2"),
        ("dave", "team-a/model-1"),
    ):
        with pytest.raises(RepositoryNotFoundError):
            _download(server, tokens[who], repo_id, tmp_path)
    # the admin still reads everything
    assert _download(server, server.admin_token, "team-a/secret-x", tmp_path) == b"team-a/secret-x"


def test_writes_need_write_on_the_repo_and_in_the_token(
    server: RunningServer, tokens: dict[str, str]
) -> None:
    alice = HfApi(endpoint=server.hf_endpoint(), token=tokens["alice"])
    alice.upload_file(path_or_fileobj=b"v2", path_in_repo="g.txt", repo_id="team-a/model-1")
    alice.create_repo("team-a/new-model")
    with pytest.raises(RepositoryNotFoundError):  # outside her patterns: not even seen
        alice.create_repo("team-b/hers")
    # carol reads team-a but may not write, whatever her token's scope says
    carol = HfApi(endpoint=server.hf_endpoint(), token=tokens["carol"])
    with pytest.raises(HfHubHTTPError) as denied:
        carol.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="team-a/model-1")
    assert denied.value.response.status_code == 403
    # a read token of alice narrows her write right
    narrow = HfApi(endpoint=server.hf_endpoint(), token=tokens["alice-read"])
    with pytest.raises(HfHubHTTPError) as denied:
        narrow.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="team-a/model-1")
    assert denied.value.response.status_code == 403


def test_listings_show_only_what_the_user_may_read(
    server: RunningServer, tokens: dict[str, str]
) -> None:
    alice = HfApi(endpoint=server.hf_endpoint(), token=tokens["alice"])
    seen = {m.id for m in alice.list_models()}
    assert "team-a/model-1" in seen
    assert not seen & {"team-a/secret-x", "team-b/model-2"}
    # the sidebar's listing, one row per page: paging goes past the hidden rows
    ids: list[str] = []
    after = ""
    for _ in range(10):
        r = httpx.get(
            server.api("repositories/models/hub"),
            params={"limit": 1, **({"after": after} if after else {})},
            headers=server.headers(tokens["alice"]),
        )
        assert r.status_code == 200, r.text
        ids += [repo["repo_id"] for repo in r.json()["repos"]]
        after = r.json()["next"]
        if not after:
            break
    assert sorted(ids) == sorted(i for i in seen if i.startswith("team-a/"))
    # dave may read no repo of 'models': the repository itself is not shown
    r = httpx.get(server.api("repositories"), headers=server.headers(tokens["dave"]))
    assert r.status_code == 200
    assert [repo["key"] for repo in r.json()["repositories"]] == []
    r = httpx.get(server.api("repositories"), headers=server.headers(tokens["alice"]))
    assert [repo["key"] for repo in r.json()["repositories"]] == ["models"]


def test_only_vault_admins_manage_targets(server: RunningServer, tokens: dict[str, str]) -> None:
    # dave's token has admin scope, but a user token is bounded by targets, which never make a
    # vault admin
    for token in (tokens["dave"], tokens["alice"]):
        r = httpx.put(
            server.api("permissions/targets/mine"), headers=server.headers(token), json=TARGET
        )
        assert r.status_code == 403, r.text
        # a token it mints stays the user's, however it is asked for
        r = httpx.post(
            server.api("tokens"),
            headers=server.headers(token),
            json={"name": "x", "scope": "write", "user": "admin"},
        )
        assert r.status_code == 201, r.text
        child = r.json()["token"]
        r = httpx.get(server.api("permissions/targets"), headers=server.headers(child))
        assert r.status_code == 403, r.text
        r = httpx.get(server.api("repositories/models/hub"), headers=server.headers(child))
        if token == tokens["dave"]:  # nothing readable in 'models': it does not exist for him
            assert r.status_code == 404, r.text
        else:
            assert {repo["repo_id"] for repo in r.json()["repos"]} <= {
                "team-a/model-1",
                "team-a/new-model",
            }
    r = httpx.get(server.api("permissions/targets"), headers=server.headers())
    assert [t["name"] for t in r.json()["targets"]] == ["team-a"]


@pytest.mark.parametrize(
    "body",
    [
        {"repositories": []},
        {"repositories": ["models"], "include": ["(a+)+$"]},
        {"repositories": ["models"], "grants": {"alice": "read"}},
        {"repositories": ["models"], "grants": {"user:alice": "owner"}},
        {"repositories": ["models"], "include": ["x"] * 33},
        {"repositories": ["models"], "surprise": 1},
        ["models"],
    ],
)
def test_malformed_targets_are_refused(server: RunningServer, body: object) -> None:
    r = httpx.put(server.api("permissions/targets/bad"), headers=server.headers(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidInput"


def test_a_changed_target_applies_at_once(
    server: RunningServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    grant = {**TARGET, "include": ["team-b/**"], "grants": {"user:dave": "read"}}
    r = httpx.put(server.api("permissions/targets/dave"), headers=server.headers(), json=grant)
    assert r.status_code == 200
    try:
        assert _download(server, tokens["dave"], "team-b/model-2", tmp_path) == b"team-b/model-2"
    finally:
        r = httpx.delete(server.api("permissions/targets/dave"), headers=server.headers())
        assert r.status_code == 204
    with pytest.raises(RepositoryNotFoundError):
        _download(server, tokens["dave"], "team-b/model-2", tmp_path)
