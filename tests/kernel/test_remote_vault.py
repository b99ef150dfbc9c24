"""JupyterLab against a central vault (issue #8): a standalone ``modelvault serve`` is the team's
vault; each Jupyter server is configured with its URL and one user's token. The sidebar API goes
through Jupyter to the central vault with that token; kernels point straight at the central vault
with a kernel token minted there (or the user's own when it may not mint)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from modelvault_jlab.config import VaultSettings
from modelvault_jlab.jupyter.central_proxy import (
    REQUEST_DROP,
    RemoteSettingsError,
    RemoteToken,
    end_to_end,
    normalize_url,
    resolve_token,
)
from tests.kernel.conftest import server_env
from tests.kernel.kernels import Kernel, jupyter_headers
from tests.kernel.test_kernel_env import kernel_env
from tests.servers import RunningServer, free_port, running, start_jupyter, start_standalone

PYPI_KEY = "team-pypi"
CONFIG_JSON = b'{"model_type": "central"}'


def test_token_sources_and_url(tmp_path: Path) -> None:
    settings = VaultSettings(remote_url="http://vault:8000/team")
    assert normalize_url(settings.remote_url) == "http://vault:8000/team/"
    with pytest.raises(RemoteSettingsError):
        normalize_url("vault:8000")
    assert resolve_token(settings, {"MODELVAULT_TOKEN": " mvt_e_1\n"}) == RemoteToken(
        "mvt_e_1", "$MODELVAULT_TOKEN"
    )
    assert resolve_token(settings, {}).value is None
    token_file = tmp_path / "token"
    token_file.write_text("mvt_f_2\n# rotated weekly\n")
    settings.remote_token_file = str(token_file)
    assert resolve_token(settings, {"MODELVAULT_TOKEN": "mvt_e_1"}).value == "mvt_f_2"
    settings.remote_token = "mvt_c_3"
    assert resolve_token(settings, {"MODELVAULT_TOKEN": "mvt_e_1"}).value == "mvt_c_3"
    settings.remote_token = ""
    settings.remote_token_file = str(tmp_path / "missing")
    with pytest.raises(RemoteSettingsError, match="remote_token_file"):
        resolve_token(settings, {})


def test_hop_by_hop_headers_are_dropped() -> None:
    items = [("Keep-Alive", "5"), ("X-Trace", "t"), ("Content-Type", "a/b"), ("Foo", "1")]
    assert end_to_end(items, "keep-alive, Foo", REQUEST_DROP) == [
        ("X-Trace", "t"),
        ("Content-Type", "a/b"),
    ]


def user_token(central: RunningServer, user: str, scope: str) -> str:
    r = httpx.post(
        central.api("tokens"),
        json={"name": f"{user}-lab", "scope": scope, "user": user},
        headers=central.headers(),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def token_record(central: RunningServer, token: str) -> dict[str, Any]:
    token_id = token.split("_")[1]
    tokens = httpx.get(central.api("tokens"), headers=central.headers(), timeout=30).json()
    return next(t for t in tokens["tokens"] if t["id"] == token_id)


def start_lab(
    base: Path, name: str, central_url: str, *extra: str, env: dict[str, str] | None = None
) -> RunningServer:
    """A user's Jupyter server configured like docs/deployment.md (a config file with
    remote_url; the token from the environment unless ``extra`` says otherwise)."""
    config = (
        f"c.VaultSettings.remote_url = {central_url!r}\n"
        f"c.VaultSettings.kernel_pypi_repository = {PYPI_KEY!r}\n"
    )
    with server_env(base / f"{name}-config", config):
        return start_jupyter(base / f"{name}-unused", base / f"{name}-root", *extra, env=env)


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("central")
    with running(start_standalone(base / "vault")) as server:
        r = httpx.post(
            server.api("repositories"),
            json={"key": PYPI_KEY, "kind": "pypi-local"},
            headers=server.headers(),
            timeout=30,
        )
        assert r.status_code == 201, r.text
        yield server


@pytest.fixture(scope="module")
def central_model(central: RunningServer) -> str:
    api = HfApi(endpoint=central.hf_endpoint(), token=central.admin_token)
    repo_id = f"team/tiny-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id, [CommitOperationAdd("config.json", CONFIG_JSON)], commit_message="publish"
    )
    return repo_id


@pytest.fixture(scope="module")
def alice_token(central: RunningServer) -> str:
    """A user whose token may mint tokens (admin scope)."""
    return user_token(central, "alice", "admin")


@pytest.fixture(scope="module")
def alice_lab(
    central: RunningServer, alice_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("alice")
    lab = start_lab(base, "alice", central.url, env={"MODELVAULT_TOKEN": alice_token})
    with running(lab):
        yield lab


def lab_get(lab: RunningServer, path: str) -> httpx.Response:
    return httpx.get(lab.api(path), headers=jupyter_headers(lab), timeout=60)


def test_sidebar_api_goes_to_the_central_vault(
    central: RunningServer, alice_lab: RunningServer
) -> None:
    info = lab_get(alice_lab, "info")
    assert info.status_code == 200, info.text
    assert info.json()["user"] == {"name": "alice", "admin": True, "scope": "admin"}

    central_keys = [
        r["key"]
        for r in httpx.get(central.api("repositories"), headers=central.headers()).json()[
            "repositories"
        ]
    ]
    listed = lab_get(alice_lab, "repositories").json()["repositories"]
    assert [r["key"] for r in listed] == central_keys and PYPI_KEY in central_keys
    # links in the listing are the central vault's, which is where clients should go
    assert all(r.get("hub_endpoint", central.url).startswith(central.url) for r in listed)

    # a repository created through Jupyter exists on the central vault, created by alice
    key = f"lab-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        alice_lab.api("repositories"),
        json={"key": key, "kind": "hf-local", "description": "from the lab"},
        headers=jupyter_headers(alice_lab),
        timeout=60,
    )
    assert r.status_code == 201, r.text
    r = httpx.get(central.api(f"repositories/{key}"), headers=central.headers())
    assert r.status_code == 200 and r.json()["description"] == "from the lab"
    events = httpx.get(
        central.api("audit"), params={"action": "repository.create"}, headers=central.headers()
    ).json()["events"]
    assert any(e["actor"] == "alice" and e["repository"] == key for e in events), events

    # query strings, status codes and the vault's error JSON pass through unchanged
    r = lab_get(alice_lab, f"repositories/{key}/hub?limit=5")
    assert r.status_code == 200 and r.json() == {"repos": [], "next": None}
    r = lab_get(alice_lab, "repositories/no-such-repo")
    assert r.status_code == 404
    assert r.json()["code"] == "RepositoryNotFound"
    r = httpx.delete(
        alice_lab.api(f"repositories/{key}"), headers=jupyter_headers(alice_lab), timeout=60
    )
    assert r.status_code == 204 and r.content == b""

    # no embedded vault was opened
    log = alice_lab.log()
    assert f"using the central vault at {central.url}" in log and "serving data from" not in log
    assert "as 'alice', scope admin" in log


def test_jupyter_login_still_guards_the_route(
    central: RunningServer, alice_lab: RunningServer, alice_token: str
) -> None:
    # no Jupyter login: refused here, whatever vault token is presented
    for headers in ({}, {"Authorization": f"Bearer {alice_token}"}):
        r = httpx.post(
            alice_lab.api("repositories"), json={"key": "nope", "kind": "hf-local"}, headers=headers
        )
        assert r.status_code == 403, r.text
        assert r.headers.get("Connection") == "close"  # its body was not read
    assert httpx.get(central.api("repositories/nope"), headers=central.headers()).status_code == 404

    # a browser session (login cookie): Jupyter's XSRF check still applies before forwarding
    with httpx.Client(timeout=60) as browser:
        browser.get(f"{alice_lab.url}lab/tree?token={alice_lab.jupyter_token}")
        assert any(c.startswith("username-") for c in browser.cookies)
        r = browser.get(alice_lab.api("repositories"))
        assert r.status_code == 200, r.text
        assert r.json()["repositories"]  # sent with the user's vault token, not the cookie
        key = f"xsrf-{uuid.uuid4().hex[:6]}"
        r = browser.post(alice_lab.api("repositories"), json={"key": key, "kind": "hf-local"})
        assert r.status_code == 403 and "_xsrf" in r.text
        xsrf = browser.cookies["_xsrf"]
        r = browser.post(
            alice_lab.api("repositories"),
            json={"key": key, "kind": "hf-local"},
            headers={"X-XSRFToken": xsrf},
        )
        assert r.status_code == 201, r.text

    # kernels use the central vault directly; these paths only say so
    r = httpx.get(
        f"{alice_lab.url}modelvault/hf/models/api/models", headers=jupyter_headers(alice_lab)
    )
    assert r.status_code == 404 and f"{central.url}modelvault/hf/models" in r.json()["message"]


def peak_rss_bytes(server: RunningServer) -> int:
    """The server process's peak resident memory so far (VmHWM, Linux)."""
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_request_and_response_bodies_stream_through(
    central: RunningServer, alice_lab: RunningServer
) -> None:
    size = 64 * 1024 * 1024 + 7
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    peak_before = peak_rss_bytes(alice_lab)

    def chunks() -> Iterator[bytes]:  # chunked transfer encoding, no Content-Length
        for i in range(0, len(data), 1 << 20):
            yield data[i : i + (1 << 20)]

    r = httpx.put(
        alice_lab.api("files/lab-upload.bin"),
        content=chunks(),
        headers={**jupyter_headers(alice_lab), "X-Sha256": sha},
        timeout=300,
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == sha and r.json()["size"] == size
    files = httpx.get(central.api("files"), headers=central.headers()).json()["files"]
    assert any(f["name"] == "lab-upload.bin" and f["sha256"] == sha for f in files)

    # a large response: the bundle archive holding that file, streamed back through Jupyter
    name = f"lab-{uuid.uuid4().hex[:6]}"
    spec = {
        "name": name,
        "version": "1",
        "components": [{"kind": "file", "name": "lab-upload.bin"}],
    }
    r = httpx.post(
        alice_lab.api("bundles"), json=spec, headers=jupyter_headers(alice_lab), timeout=300
    )
    assert r.status_code == 201, r.text
    digest = hashlib.sha256()
    received = 0
    with httpx.stream(
        "GET",
        alice_lab.api(f"bundles/{name}/1/archive"),
        headers=jupyter_headers(alice_lab),
        timeout=300,
    ) as s:
        assert s.status_code == 200
        assert s.headers["content-type"] == "application/x-tar"
        for chunk in s.iter_raw():
            digest.update(chunk)
            received += len(chunk)
    direct = hashlib.sha256(
        httpx.get(
            central.api(f"bundles/{name}/1/archive"), headers=central.headers(), timeout=300
        ).content
    )
    assert received > size and digest.hexdigest() == direct.hexdigest()
    # neither body was held in the Jupyter server's memory
    assert peak_rss_bytes(alice_lab) - peak_before < size // 2

    # a wrong digest: the central vault's refusal reaches the browser as it was sent
    r = httpx.put(
        alice_lab.api("files/lab-upload-2.bin"),
        content=b"abc",
        headers={**jupyter_headers(alice_lab), "X-Sha256": "0" * 64},
        timeout=60,
    )
    direct_r = httpx.put(
        central.api("files/lab-upload-2.bin"),
        content=b"abc",
        headers={**central.headers(), "X-Sha256": "0" * 64},
    )
    assert r.status_code == direct_r.status_code >= 400
    assert r.json() == direct_r.json()


def test_kernel_points_at_the_central_vault_with_its_own_token(
    central: RunningServer,
    alice_lab: RunningServer,
    alice_token: str,
    central_model: str,
) -> None:
    kernel = Kernel(alice_lab, notebook="team/remote.ipynb")
    try:
        env = kernel_env(kernel)
        assert env["HF_ENDPOINT"] == central.hf_endpoint("models")
        assert env["MODELVAULT_URL"] == central.url
        token = env["HF_TOKEN"]
        assert token.startswith("mvt_") and token not in (alice_token, central.admin_token)
        assert env["MODELVAULT_TOKEN"] == token
        index = central.url.replace("http://", f"http://__token__:{token}@", 1)
        assert env["PIP_INDEX_URL"] == f"{index}modelvault/pypi/{PYPI_KEY}/simple/"
        assert env["UV_INDEX_URL"] == env["PIP_INDEX_URL"]
        record = token_record(central, token)
        assert record["scope"] == "read" and record["user"] == "alice"
        assert record["expires_at"] is not None and record["revoked_at"] is None

        out = kernel.execute(
            f"from huggingface_hub import hf_hub_download\n"
            f"print(open(hf_hub_download({central_model!r}, 'config.json')).read())"
        )
        assert out.error is None, out.error
        assert CONFIG_JSON.decode() in out.stdout

        # the magics use the same environment: the central vault, as the kernel's token
        out = kernel.execute("%load_ext modelvault_jlab\n%modelvault status")
        assert out.error is None, out.error
        assert central.hf_endpoint("models") in out.text() and "scope read" in out.text()
        # the download is audited on the central vault under the kernel's token, with its
        # notebook (the lineage the central vault reads from the token's description)
        r = httpx.get(
            central.api("lineage"), params={"subject": central_model}, headers=central.headers()
        )
        fetch = r.json()["fetches"][0]
        assert fetch["token_id"] == record["id"] and fetch["notebook"] == "team/remote.ipynb"
    finally:
        kernel.shutdown()
    assert token_record(central, token)["revoked_at"] is not None
    r = httpx.get(central.api("repositories"), headers=central.headers(token))
    assert r.status_code == 401


def test_stopping_the_server_revokes_its_kernels_tokens(
    central: RunningServer, alice_token: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("alice-2")
    lab = start_lab(base, "alice2", central.url, env={"MODELVAULT_TOKEN": alice_token})
    with running(lab):
        kernel = Kernel(lab)  # never shut down by itself
        token = kernel_env(kernel)["HF_TOKEN"]
        kernel.ws.close()
        assert token_record(central, token)["revoked_at"] is None
    # running() stopped the server with SIGTERM
    assert token_record(central, token)["revoked_at"] is not None


def test_a_users_write_token_mints_narrower_kernel_tokens(
    central: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bob_token = user_token(central, "bob", "write")
    base = tmp_path_factory.mktemp("bob")
    token_file = base / "token"
    token_file.write_text(bob_token + "\n")
    lab = start_lab(base, "bob", central.url, f"--VaultSettings.remote_token_file={token_file}")
    with running(lab):
        info = lab_get(lab, "info").json()
        assert info["user"] == {"name": "bob", "admin": False, "scope": "write"}
        kernel = Kernel(lab)
        try:
            env = kernel_env(kernel)
        finally:
            kernel.shutdown()
        token = env["HF_TOKEN"]
        assert token != bob_token and env["HF_ENDPOINT"] == central.hf_endpoint()
        record = token_record(central, token)
        assert record["user"] == "bob" and record["scope"] == "read"
        assert record["parent"] == bob_token.split("_")[1] and record["expires_at"] is not None
        assert record["revoked_at"] is not None  # revoked with its kernel...
        assert "not a kernel token" not in lab.log()
    # ...while the user's own token lives on
    assert token_record(central, bob_token)["revoked_at"] is None


def test_child_tokens_stay_within_their_parent(central: RunningServer) -> None:
    reader = user_token(central, "carol", "read")
    headers = central.headers(reader)
    wider = httpx.post(central.api("tokens"), json={"name": "w", "scope": "write"}, headers=headers)
    assert wider.status_code == 403 and "cannot mint a token of scope" in wider.json()["message"]
    child = httpx.post(central.api("tokens"), json={"name": "k", "scope": "read"}, headers=headers)
    assert child.status_code == 201, child.text
    child_token = child.json()["token"]
    grandchild = httpx.post(
        central.api("tokens"), json={"name": "g"}, headers=central.headers(child_token)
    )
    assert grandchild.status_code == 403 and "cannot mint another" in grandchild.json()["message"]
    # a child is revoked with its parent
    r = httpx.delete(central.api(f"tokens/{reader.split('_')[1]}"), headers=central.headers())
    assert r.status_code == 204
    r = httpx.get(central.api("repositories"), headers=central.headers(child_token))
    assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_a_token_that_may_not_mint_is_given_to_kernels_itself(
    central: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A child token (minted by another token) cannot mint: the kernel gets it as it is.
    dave_token = user_token(central, "dave", "write")
    r = httpx.post(
        central.api("tokens"),
        json={"name": "dave-lab", "scope": "write"},
        headers=central.headers(dave_token),
    )
    assert r.status_code == 201, r.text
    lab_token = str(r.json()["token"])
    base = tmp_path_factory.mktemp("dave")
    token_file = base / "token"
    token_file.write_text(lab_token + "\n")
    lab = start_lab(base, "dave", central.url, f"--VaultSettings.remote_token_file={token_file}")
    with running(lab):
        kernel = Kernel(lab)
        try:
            env = kernel_env(kernel)
        finally:
            kernel.shutdown()
        assert env["HF_TOKEN"] == lab_token and env["HF_ENDPOINT"] == central.hf_endpoint()
        assert "gets the user's own token, not a kernel token" in lab.log()
        assert "403" in lab.log()
    # the user's own token is not revoked with the kernel
    assert token_record(central, lab_token)["revoked_at"] is None


def test_a_rejected_token_is_a_clear_error(
    central: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("mallory")
    lab = start_lab(base, "mallory", central.url, env={"MODELVAULT_TOKEN": "mvt_0000_s3cr3tvalue"})
    with running(lab):
        # the sidebar's version check (GET info) gets the reason and the fix
        r = lab_get(lab, "info")
        assert r.status_code == 401
        body = r.json()
        assert body["code"] == "Unauthenticated"
        assert f"The central ModelVault at {central.url} rejected the token" in body["message"]
        assert "$MODELVAULT_TOKEN" in body["message"] and "s3cr3tvalue" not in body["message"]
        assert lab_get(lab, "repositories").status_code == 401
        log = lab.log()
    assert "rejected the token from $MODELVAULT_TOKEN" in log
    assert log.count("rejected the token") == 1  # once, not on every poll


def test_an_unreachable_central_vault_is_a_clear_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.mktemp("nowhere")
    url = f"http://127.0.0.1:{free_port()}/vault/"
    lab = start_lab(base, "nowhere", url, env={"MODELVAULT_TOKEN": "mvt_1_x"})
    with running(lab):
        r = lab_get(lab, "info")
        assert r.status_code == 502
        assert r.json()["code"] == "UpstreamUnavailable"
        assert f"The central ModelVault at {url} is unreachable" in r.json()["message"]
        # a kernel still starts, pointed at where the vault will be
        kernel = Kernel(lab)
        try:
            env = kernel_env(kernel)
        finally:
            kernel.shutdown()
        assert env["HF_ENDPOINT"] == f"{url}modelvault/hf/models"
        log = lab.log()
    assert f"The central ModelVault at {url} is unreachable" in log
