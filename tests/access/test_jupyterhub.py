"""Sign-in through a real JupyterHub: Hub API tokens, the OAuth flow and one spawned user.

One Hub (and its vault service) for the module. The vault's admin gives the Hub group
``team-a`` write on ``team-a/**`` of ``models``; alice is in ``team-a``, bob is not.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError

from tests.access.hub import PASSWORD, Hub, running_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("hub")) as h:
        vault = h.vault
        admin = HfApi(endpoint=vault.hf_endpoint(), token=vault.admin_token)
        for repo_id in ("team-a/model-1", "team-b/model-2"):
            admin.create_repo(repo_id)
            admin.upload_file(
                path_or_fileobj=repo_id.encode(), path_in_repo="f.txt", repo_id=repo_id
            )
        r = httpx.put(
            vault.api("permissions/targets/team-a"),
            headers=vault.headers(),
            json={
                "repositories": ["models"],
                "include": ["team-a/**"],
                "grants": {"group:team-a": "write"},
            },
        )
        assert r.status_code == 200, r.text
        yield h


def _info(hub: Hub, token: str) -> httpx.Response:
    return httpx.get(hub.vault.api("info"), headers={"Authorization": f"token {token}"})


def test_hub_api_tokens_identify_users(hub: Hub, tmp_path: Path) -> None:
    alice, bob = hub.user_token("alice"), hub.user_token("bob")
    r = _info(hub, alice)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["name"] == "alice" and r.json()["user"]["admin"] is False
    # huggingface_hub with the Hub token as HF_TOKEN: alice's group may read and write team-a
    api = HfApi(endpoint=hub.vault.hf_endpoint(), token=alice)
    api.upload_file(path_or_fileobj=b"by alice", path_in_repo="g.txt", repo_id="team-a/model-1")
    path = hf_hub_download(
        "team-a/model-1",
        "g.txt",
        endpoint=hub.vault.hf_endpoint(),
        token=alice,
        cache_dir=tmp_path / "a",
    )
    assert Path(path).read_bytes() == b"by alice"
    assert {m.id for m in api.list_models()} == {"team-a/model-1"}
    # bob is in no group with a grant: nothing exists for him
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(
            "team-a/model-1",
            "f.txt",
            endpoint=hub.vault.hf_endpoint(),
            token=bob,
            cache_dir=tmp_path / "b",
        )
    # Hub groups were recorded for the tokens alice mints (a kernel's)
    r = httpx.post(
        hub.vault.api("tokens"),
        headers={"Authorization": f"token {alice}"},
        json={"name": "kernel", "scope": "read"},
    )
    assert r.status_code == 201, r.text
    kernel = r.json()["token"]
    assert r.json()["user"] == "user:alice"
    path = hf_hub_download(
        "team-a/model-1",
        "f.txt",
        endpoint=hub.vault.hf_endpoint(),
        token=kernel,
        cache_dir=tmp_path / "k",
    )
    assert Path(path).read_bytes() == b"team-a/model-1"


def test_unknown_and_revoked_hub_tokens_are_refused(hub: Hub) -> None:
    assert _info(hub, "not-a-hub-token").status_code == 401
    token = hub.user_token("bob")
    assert _info(hub, token).status_code == 200
    # a token without the scope to reach the service
    r = hub.api(
        "users/bob/tokens", "POST", json={"note": "narrow", "scopes": ["read:users:name!user"]}
    )
    assert r.status_code == 201, r.text
    r = _info(hub, r.json()["token"])
    assert r.status_code == 401 and "access:services" in r.json()["message"]


def test_browser_signs_in_through_the_hub_oauth_flow(hub: Hub) -> None:
    with httpx.Client(follow_redirects=True, timeout=60) as browser:
        # sign in to the Hub (DummyAuthenticator), as a browser does
        page = browser.get(f"{hub.url}hub/login")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        form = {
            "username": "alice",
            "password": PASSWORD,
            **({"_xsrf": xsrf.group(1)} if xsrf else {}),
        }
        r = browser.post(f"{hub.url}hub/login", data=form)
        assert r.status_code == 200, r.text[:500]
        # the vault sends the browser through the Hub's OAuth and back with a cookie
        r = browser.get(
            hub.vault.url + "modelvault/hub/login", params={"next": "/modelvault/api/repositories"}
        )
        assert r.status_code == 200, r.text[:500]
        assert str(r.url).startswith(hub.vault.url)
        assert [repo["key"] for repo in r.json()["repositories"]] == ["models"]
        r = browser.get(hub.vault.api("info"))
        assert r.json()["user"]["name"] == "alice"
        # the cookie never authorises a change (a forged cross-site request would carry it)
        r = browser.post(hub.vault.api("tokens"), json={"name": "x", "scope": "read"})
        assert r.status_code == 401
    # an open redirect is not offered
    with httpx.Client(timeout=60) as other:
        r = other.get(
            hub.vault.url + "modelvault/hub/login", params={"next": "https://evil.example/"}
        )
        assert r.status_code == 302
        state_next = r.headers["location"]
        assert "evil.example" not in state_next


def test_a_spawned_single_user_server_uses_its_hub_identity(hub: Hub) -> None:
    r = hub.api("users/alice/server", "POST")
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        model = hub.api("users/alice").json()
        if model["servers"].get("", {}).get("ready"):
            break
        time.sleep(1)
    else:
        pytest.fail(f"alice's server did not start:\n{hub.log_path.read_text()[-4000:]}")
    try:
        token = hub.user_token("alice")
        # the sidebar's API on alice's server, forwarded to the vault with the server's Hub token
        r = httpx.get(
            f"{hub.url}user/alice/modelvault/api/repositories/models/hub",
            headers={"Authorization": f"token {token}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert [repo["repo_id"] for repo in r.json()["repos"]] == ["team-a/model-1"]
    finally:
        hub.api("users/alice/server", "DELETE")
