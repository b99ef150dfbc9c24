"""Every route rejects a request without a valid token (except the public probes), and
tokens are scoped: read cannot write, a repository-limited token sees only its repositories."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub import errors as hf_errors

from modelvault_jlab.web.routes import ROUTES
from tests.servers import RunningServer, cli, mint_token

OID = "a" * 64
SAMPLES: list[tuple[str, str]] = [
    ("POST", "modelvault/hf/models/api/repos/create"),
    ("DELETE", "modelvault/hf/models/api/repos/delete"),
    ("GET", "modelvault/hf/models/api/whoami-v2"),
    ("POST", "modelvault/hf/models/api/validate-yaml"),
    ("GET", "modelvault/hf/models/api/models"),
    ("GET", "modelvault/hf/models/api/models/org/name"),
    ("GET", "modelvault/hf/models/api/models/org/name/revision/main"),
    ("GET", "modelvault/hf/models/api/models/org/name/tree/main"),
    ("POST", "modelvault/hf/models/api/models/org/name/paths-info/main"),
    ("GET", "modelvault/hf/models/api/models/org/name/refs"),
    ("GET", "modelvault/hf/models/api/models/org/name/commits/main"),
    ("POST", "modelvault/hf/models/api/models/org/name/preupload/main"),
    ("POST", "modelvault/hf/models/api/models/org/name/commit/main"),
    ("POST", "modelvault/hf/models/api/models/org/name/branch/dev"),
    ("DELETE", "modelvault/hf/models/api/models/org/name/tag/v1"),
    ("PUT", "modelvault/hf/models/api/models/org/name/settings"),
    ("GET", "modelvault/hf/models/api/models/org/name/discussions"),
    ("GET", "modelvault/hf/models/api/models/org/name/xet-read-token/main"),
    # Xet write side (web/xet/write.py): the CAS routes take a Xet token, refused alike
    ("GET", "modelvault/hf/models/api/models/org/name/xet-write-token/main"),
    ("POST", f"modelvault/hf/models/cas/v1/xorbs/default/{OID}"),
    ("POST", f"modelvault/hf/models/cas/v1/xorb-grants/default/{OID}"),
    ("POST", "modelvault/hf/models/cas/v1/shards"),
    ("POST", "modelvault/hf/models/cas/v2/shards"),
    ("GET", f"modelvault/hf/models/cas/v1/chunks/default-merkledb/{OID}"),
    # Xet read side (web/xet/read.py)
    ("GET", f"modelvault/hf/models/cas/v2/reconstructions/{OID}"),
    ("GET", f"modelvault/hf/models/cas/v1/reconstructions/{OID}"),
    ("POST", "modelvault/hf/models/org/name.git/info/lfs/objects/batch"),
    ("POST", "modelvault/hf/models/org/name.git/info/lfs/objects/verify"),
    ("PUT", f"modelvault/hf/models/lfs-objects/{OID}/10"),
    ("GET", "modelvault/hf/models/org/name/resolve/main/config.json"),
    ("HEAD", "modelvault/hf/models/datasets/org/name/resolve/main/config.json"),
    ("GET", "modelvault/pypi/models/simple/"),
    ("GET", "modelvault/pypi/models/simple/numpy/"),
    ("GET", f"modelvault/pypi/models/files/{OID}/x-1.0-py3-none-any.whl.metadata"),
    ("GET", f"modelvault/pypi/models/files/{OID}/x-1.0-py3-none-any.whl"),
    ("POST", "modelvault/pypi/models/legacy/"),
    ("GET", "modelvault/api/repositories"),
    ("GET", "modelvault/api/repositories/models"),
    ("GET", "modelvault/api/repositories/models/hub"),
    ("GET", "modelvault/api/tokens"),
    ("DELETE", "modelvault/api/tokens/abcdef"),
    ("GET", "modelvault/api/permissions/targets"),
    ("PUT", "modelvault/api/permissions/targets/team-a"),
    ("DELETE", "modelvault/api/permissions/targets/team-a"),
    ("GET", "modelvault/api/permissions/groups"),
    ("PUT", "modelvault/api/permissions/groups/team-a"),
    ("GET", "modelvault/api/audit"),
    ("PUT", "modelvault/api/policies"),
    ("POST", "modelvault/api/policies/preview"),
    ("POST", "modelvault/api/waivers"),
    ("DELETE", "modelvault/api/waivers/1"),
    ("GET", f"modelvault/api/scans/{OID}"),
    ("GET", "modelvault/api/violations"),
    ("GET", "modelvault/api/bundles"),
    ("POST", "modelvault/api/bundles"),
    ("POST", "modelvault/api/bundles/import"),
    ("GET", "modelvault/api/bundles/release/1.0.0"),
    ("POST", "modelvault/api/bundles/release/1.0.0/promote"),
    ("GET", "modelvault/api/bundles/release/1.0.0/verify"),
    ("GET", "modelvault/api/bundles/release/1.0.0/archive"),
    ("GET", "modelvault/api/bundles/release/1.0.0/bom"),
    ("GET", "modelvault/api/bundle-keys"),
    ("GET", "modelvault/api/activity"),
    ("GET", "modelvault/api/repositories/models/packages"),
    ("GET", "modelvault/api/repositories/models/packages/numpy"),
    ("POST", "modelvault/api/bundle-keys"),
    ("GET", "modelvault/api/files"),
    ("PUT", "modelvault/api/files/notes.txt"),
    ("GET", "modelvault/api/lineage"),
    ("GET", "modelvault/api/repositories/models/hub/models/org/name/files"),
    ("GET", "modelvault/metrics"),
    ("GET", "modelvault/api/usage"),
    ("GET", "modelvault/api/dashboard"),
    ("GET", "modelvault/api/repositories/models/hub/models/org/name/overview"),
]
PUBLIC = [
    ("GET", "modelvault/api/info"),
    ("GET", "modelvault/api/openapi.json"),  # the API description: the same for every server
    ("GET", "modelvault/hf/models/api/agent-harnesses"),
    ("GET", "modelvault/health/live"),
    ("GET", "modelvault/health/ready"),
]


SIGNED = [  # the URL is the credential (hf_xet sends fetch URLs no Authorization): 403 unsigned
    ("GET", f"modelvault/hf/models/cas/fetch/{OID}"),
]


def test_samples_cover_every_route() -> None:
    for pattern, handler in ROUTES:
        rx = re.compile(pattern + "/?$")
        assert any(rx.match(path) for _, path in SAMPLES + PUBLIC + SIGNED), (
            f"no auth sample for {handler.__name__}"
        )


@pytest.mark.parametrize(("method", "path"), SAMPLES)
@pytest.mark.parametrize(
    "auth", [None, "Bearer mvt_0123456789ab_wrong", "Basic X19fOm5vcGU=", "Bearer hf_abc"]
)
def test_route_requires_a_valid_token(
    server: RunningServer, method: str, path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = httpx.request(
        method, server.url + path, headers=headers, content=b"{}" if method != "GET" else None
    )
    if (
        server.kind == "jupyter"
        and path.startswith("modelvault/api/")
        and auth in (None, "Bearer hf_abc", "Basic X19fOm5vcGU=")
    ):
        # Jupyter's own login (and XSRF check) guards the sidebar API first when no vault token
        # is presented.
        assert r.status_code in (401, 403), r.text
        return
    assert r.status_code == 401, (method, path, r.status_code, r.text)


@pytest.mark.parametrize(("method", "path"), SIGNED)
@pytest.mark.parametrize("query", ["", "?r=0-9&e=99999999999&s=forged"])
def test_signed_urls_refuse_a_missing_or_forged_signature(
    standalone_server: RunningServer, method: str, path: str, query: str
) -> None:
    headers = standalone_server.headers()  # even an admin token does not stand in for one
    r = httpx.request(method, standalone_server.url + path + query, headers=headers)
    assert r.status_code == 403, r.text


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_probes(server: RunningServer, method: str, path: str) -> None:
    assert httpx.request(method, server.url + path).status_code == 200


def test_scopes_and_repository_limits(standalone_server: RunningServer) -> None:
    s = standalone_server
    cli(s.data_dir, "repo", "create", "team-a")
    admin = HfApi(endpoint=s.hf_endpoint("team-a"), token=s.admin_token)
    repo_id = f"team/m-{uuid.uuid4().hex[:6]}"
    admin.create_repo(repo_id)
    admin.upload_file(path_or_fileobj=b"1", path_in_repo="f.txt", repo_id=repo_id)

    reader = HfApi(endpoint=s.hf_endpoint("team-a"), token=mint_token(s.data_dir, "read", "rita"))
    assert reader.list_repo_files(repo_id) == ["f.txt"]
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        reader.upload_file(path_or_fileobj=b"2", path_in_repo="g.txt", repo_id=repo_id)
    assert err.value.response.status_code == 403 and "lacks the 'write' permission" in str(
        err.value
    )

    limited = mint_token(s.data_dir, "write", "lena", "models")
    other = HfApi(endpoint=s.hf_endpoint("team-a"), token=limited)
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        other.list_repo_files(repo_id)
    assert err.value.response.status_code == 403
    mine = HfApi(endpoint=s.hf_endpoint("models"), token=limited)
    mine.create_repo("lena/own")
    assert mine.list_repo_files("lena/own") == []

    r = httpx.get(s.api("tokens"), headers=s.headers(limited))
    assert r.status_code == 403


def test_revoked_and_expired_tokens(standalone_server: RunningServer) -> None:
    s = standalone_server
    token = mint_token(s.data_dir, "read", "temp")
    api = HfApi(endpoint=s.hf_endpoint(), token=token)
    assert api.whoami()["name"] == "temp"
    token_id = token.split("_")[1]
    cli(s.data_dir, "token", "revoke", token_id)
    with pytest.raises(hf_errors.RepositoryNotFoundError) as err:
        api.model_info("any/thing")
    assert "was revoked" in str(err.value)
    expired = cli(s.data_dir, "token", "create", "--scope", "read", "--expires-in", "0.01")
    time.sleep(0.05)  # a lifetime is a positive number: let this one run out
    r = httpx.get(s.api("repositories"), headers=s.headers(expired))
    assert r.status_code == 401 and "has expired" in r.json()["message"]


def test_tokens_are_stored_hashed(standalone_server: RunningServer) -> None:
    import sqlite3

    s = standalone_server
    token = mint_token(s.data_dir, "read", "hashcheck")
    secret = token.split("_", 2)[2]
    con = sqlite3.connect(s.data_dir / "metadata.sqlite3")
    dump = "\n".join(con.iterdump())
    con.close()
    assert secret not in dump and token not in dump


def test_public_repository_is_readable_anonymously(
    standalone_server: RunningServer, tmp_path: object
) -> None:
    s = standalone_server
    cli(s.data_dir, "repo", "create", "open-models", "--public")
    HfApi(endpoint=s.hf_endpoint("open-models"), token=s.admin_token).create_repo("pub/m")
    anon = HfApi(endpoint=s.hf_endpoint("open-models"), token=False)
    assert anon.list_repo_files("pub/m") == []
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        anon.create_repo("pub/other")
    assert err.value.response.status_code == 401


def test_jupyter_user_administers_the_vault(jupyter_server: RunningServer) -> None:
    s = jupyter_server
    jupyter = {"Authorization": f"token {s.jupyter_token}"}
    info = httpx.get(s.api("info"), headers=jupyter).json()
    assert info["user"]["admin"] is True
    r = httpx.post(s.api("tokens"), json={"name": "nb", "scope": "read"}, headers=jupyter)
    assert r.status_code == 201
    token = r.json()["token"]
    assert (
        HfApi(endpoint=s.hf_endpoint(), token=token).whoami()["auth"]["accessToken"]["role"]
        == "read"
    )
    # the Jupyter token is not a vault token: the Hub endpoints do not accept it
    r = httpx.get(
        s.hf_endpoint() + "/api/whoami-v2", headers={"Authorization": f"Bearer {s.jupyter_token}"}
    )
    assert r.status_code == 401
    # cookie-less browser-style POST without XSRF and without a token is refused
    assert httpx.post(s.api("tokens"), json={"name": "x", "scope": "read"}).status_code in (
        401,
        403,
    )
