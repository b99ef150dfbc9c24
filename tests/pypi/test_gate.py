"""Governance for packages: pip and uv stop with the policy's reason printed.

A package without a licence, or one that carries a malicious pickle, is refused on its
``.metadata`` and file URLs with the reason in the HTTP reason phrase (pip prints it) and in an
RFC 9457 body (uv prints it); a licensed, clean package installs.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.governance.test_product_story import malicious_pickle
from tests.servers import RunningServer, mint_token

from .conftest import create_repo, index_url, run, uid
from .dists import wheel_bytes, wheel_name
from .upstream import FaultyIndex


def test_pip_and_uv_show_the_block_reason(
    standalone_server: RunningServer,
    faulty: FaultyIndex,
    tmp_path: Path,
    client_env: dict[str, str],
) -> None:
    server = standalone_server
    ok, unlicensed, evil = f"ok-{uid()}", f"nolicence-{uid()}", f"evil-{uid()}"
    scenario = f"s{uid()}"
    faulty.add(
        scenario,
        {
            wheel_name(ok, "1.0"): wheel_bytes(ok, "1.0", payload=scenario.encode()),
            wheel_name(unlicensed, "1.0"): wheel_bytes(unlicensed, "1.0", license=None),
            wheel_name(evil, "1.0"): wheel_bytes(
                evil, "1.0", extra_files={"weights.pkl": malicious_pickle()}
            ),
        },
    )
    key = create_repo(server, "pypi-remote", {"upstream": faulty.url(scenario)})
    env = {
        **client_env,
        "PIP_INDEX_URL": index_url(server, key, mint_token(server.data_dir, "read", "dev")),
    }

    run(env, "pip", "install", "--no-cache-dir", "--target", str(tmp_path / "ok"), ok)
    assert (tmp_path / "ok" / ok.replace("-", "_")).is_dir()

    pip = run(
        env,
        "pip",
        "install",
        "--no-cache-dir",
        "--target",
        str(tmp_path / "a"),
        unlicensed,
        check=False,
    )
    assert pip.returncode != 0
    assert (
        f"blocked by policy 'approved-licenses': package {wheel_name(unlicensed, '1.0')} has no licence"
        in pip.stdout + pip.stderr
    )

    uv_env = {**client_env, "UV_INDEX_URL": env["PIP_INDEX_URL"]}
    uv = run(
        uv_env, "uv", "pip", "install", "--target", str(tmp_path / "b"), unlicensed, check=False
    )
    assert uv.returncode != 0 and "blocked by policy 'approved-licenses'" in uv.stdout + uv.stderr

    pip = run(
        env, "pip", "install", "--no-cache-dir", "--target", str(tmp_path / "c"), evil, check=False
    )
    assert pip.returncode != 0
    out = pip.stdout + pip.stderr
    assert "blocked by policy 'malicious-models'" in out and "posix.system" in out
    assert not (tmp_path / "c" / evil.replace("-", "_")).exists()

    # a waiver for that exact file lets it through
    page = httpx.get(
        index_url(server, key) + f"{unlicensed}/",
        headers={**server.headers(), "Accept": "application/vnd.pypi.simple.v1+json"},
    ).json()
    sha = page["files"][0]["hashes"]["sha256"]
    r = httpx.post(
        server.api("waivers"),
        json={
            "policy": "approved-licenses",
            "sha256": sha,
            "justification": "vendored under contract",
            "expires_in_seconds": 600,
        },
        headers=server.headers(),
    )
    assert r.status_code == 201, r.text
    run(env, "pip", "install", "--no-cache-dir", "--target", str(tmp_path / "d"), unlicensed)
