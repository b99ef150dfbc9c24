"""pypi-virtual: one index over ordered members, with the dependency-confusion guard."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import RunningServer, mint_token

from .conftest import create_repo, index_url, run, uid, upload_url
from .dists import wheel_bytes, wheel_name
from .upstream import FaultyIndex

JSON = "application/vnd.pypi.simple.v1+json"


def _upload(server: RunningServer, key: str, name: str, version: str) -> None:
    r = httpx.post(
        upload_url(server, key),
        data={":action": "file_upload", "protocol_version": "1"},
        files={"content": (wheel_name(name, version), wheel_bytes(name, version))},
        auth=("__token__", server.admin_token),
    )
    assert r.status_code == 200, r.text


def _versions(server: RunningServer, key: str, project: str) -> list[str]:
    r = httpx.get(
        index_url(server, key) + f"{project}/", headers={**server.headers(), "Accept": JSON}
    )
    assert r.status_code == 200, r.text
    return r.json()["versions"]  # type: ignore[no-any-return]


def test_virtual_guard_and_install(
    server: RunningServer, faulty: FaultyIndex, tmp_path: Path, client_env: dict[str, str]
) -> None:
    private, public = f"corp-secret-{uid()}", f"public-lib-{uid()}"
    scenario = f"s{uid()}"
    faulty.add(
        scenario,
        {
            # the attacker publishes the private name upstream with a higher version
            wheel_name(private, "99.0"): wheel_bytes(
                private, "99.0", payload=b"evil" + scenario.encode()
            ),
            wheel_name(public, "1.0"): wheel_bytes(public, "1.0", payload=scenario.encode()),
        },
    )
    local = create_repo(server, "pypi-local")
    remote = create_repo(server, "pypi-remote", {"upstream": faulty.url(scenario)})
    _upload(server, local, private, "1.0")
    guarded = create_repo(server, "pypi-virtual", {"members": [local, remote]})
    open_ = create_repo(
        server, "pypi-virtual", {"members": [local, remote], "dependency_confusion_guard": False}
    )

    assert _versions(server, guarded, private) == ["1.0"]
    assert _versions(server, guarded, public) == ["1.0"]
    assert _versions(server, open_, private) == ["1.0", "99.0"]
    assert faulty.count(scenario, "page", private) == 1  # only the unguarded one asked upstream
    # the guard also holds for direct file URLs of the remote member
    page = httpx.get(
        index_url(server, open_) + f"{private}/", headers={**server.headers(), "Accept": JSON}
    ).json()
    evil = next(f for f in page["files"] if "99.0" in f["filename"])
    blocked = httpx.get(
        index_url(server, guarded) + f"{private}/" + evil["url"], headers=server.headers()
    )
    assert blocked.status_code == 404

    token = mint_token(server.data_dir, "read", "dev", guarded, local, remote)
    pip = run(
        {**client_env, "PIP_INDEX_URL": index_url(server, guarded, token)},
        "pip",
        "install",
        "--no-cache-dir",
        "--target",
        str(tmp_path / "t"),
        private,
        public,
    )
    assert f"{private}-1.0" in pip.stdout and f"{public}-1.0" in pip.stdout
    assert faulty.count(scenario, "file", wheel_name(private, "99.0")) == 0
    # a virtual repository never widens access: a token limited to the virtual one, or an
    # anonymous caller of a public virtual one, sees none of the private members' projects
    only_virtual = mint_token(server.data_dir, "read", "dev", guarded)
    exposed = create_repo(server, "pypi-virtual", {"members": [local]}, public=True)
    for key, auth in ((guarded, ("__token__", only_virtual)), (exposed, None)):
        page = httpx.get(index_url(server, key) + f"{private}/", auth=auth)
        assert page.status_code == 404, page.text
        listing = httpx.get(index_url(server, key), auth=auth)
        assert listing.status_code == 200 and private not in listing.text
        file_url = index_url(server, local) + f"{private}/"
        direct = httpx.get(file_url, auth=auth)
        assert direct.status_code in (401, 403)


def test_virtual_config_validation(standalone_server: RunningServer) -> None:
    """A bad config is refused when the repository is created or changed, with the reason."""
    server = standalone_server
    hf = create_repo(server, "hf-local")
    good = create_repo(server, "pypi-virtual", {"members": [create_repo(server, "pypi-local")]})
    for config in (
        {"members": []},
        {"members": ["does-not-exist"]},
        {"members": [hf]},
        {"members": "pypi-local"},
        {"nonsense": 1},
    ):
        r = httpx.post(
            server.api("repositories"),
            headers=server.headers(),
            json={"key": f"pypi-virtual-{uid()}", "kind": "pypi-virtual", "config": config},
        )
        assert r.status_code == 400 and r.json()["code"] == "InvalidInput", (config, r.text)
        r = httpx.patch(
            server.api(f"repositories/{good}"), headers=server.headers(), json={"config": config}
        )
        assert r.status_code == 400, (config, r.text)
