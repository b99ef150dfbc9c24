"""pypi-local on real servers: twine / uv publish uploads, pip / uv installs, Simple API."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, mint_token

from .conftest import create_repo, index_url, run, uid, upload_url
from .dists import wheel_bytes, wheel_name, write_sdist, write_wheel

JSON = "application/vnd.pypi.simple.v1+json"


def _audit(server: RunningServer, repository: str) -> list[dict[str, object]]:
    r = httpx.get(server.api("audit"), params={"repository": repository}, headers=server.headers())
    assert r.status_code == 200, r.text
    return r.json()["events"]  # type: ignore[no-any-return]


def test_twine_upload_then_pip_and_uv_install(
    server: RunningServer, tmp_path: Path, client_env: dict[str, str]
) -> None:
    key = create_repo(server, "pypi-local")
    name = f"My.Private_Pkg{uid()}"
    dep = f"helper-lib-{uid()}"
    dists = tmp_path / "dists"
    # > 1 MiB: pip and uv fetch it by sendfile (tests/web/test_sendfile.py), the others copied
    write_wheel(dists, name, "1.0.0", deps=(f"{dep}>=1",), payload=os.urandom(2 << 20))
    write_wheel(dists, dep, "1.2.0")
    write_sdist(dists, dep, "1.2.0")
    writer = mint_token(server.data_dir, "write", "ci", key)
    env = {**client_env, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": writer}
    run(
        env,
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        upload_url(server, key),
        *map(str, sorted(dists.iterdir())),
    )

    reader = mint_token(server.data_dir, "read", "dev", key)
    pip = run(
        {**client_env, "PIP_INDEX_URL": index_url(server, key, reader)},
        "pip",
        "install",
        "--no-cache-dir",
        "--target",
        str(tmp_path / "t1"),
        name,
    )
    assert "Successfully installed" in pip.stdout
    assert (tmp_path / "t1" / name.lower().replace(".", "_").replace("-", "_")).is_dir()
    uv = run(
        {**client_env, "UV_INDEX_URL": index_url(server, key, reader)},
        "uv",
        "pip",
        "install",
        "--no-cache",
        "--target",
        str(tmp_path / "t2"),
        name,
    )
    assert "+ helper-lib" in uv.stderr, uv.stderr

    events = _audit(server, key)
    uploads = [e for e in events if e["action"] == "pypi.file.upload"]
    downloads = [e for e in events if e["action"] == "pypi.file.download"]
    assert len(uploads) == 3 and {e["actor"] for e in uploads} == {"ci"}
    assert len(downloads) == 4 and {e["actor"] for e in downloads} == {"dev"}


def test_uv_publish_idempotent_and_conflict(
    standalone_server: RunningServer, tmp_path: Path, client_env: dict[str, str]
) -> None:
    server = standalone_server
    key = create_repo(server, "pypi-local")
    name = f"conflict-{uid()}"
    one = write_wheel(tmp_path / "a", name, "1.0")
    env = {**client_env, "UV_PUBLISH_TOKEN": server.admin_token}
    run(env, "uv", "publish", "--publish-url", upload_url(server, key), str(one))
    # identical re-upload: accepted, nothing changes
    run(env, "uv", "publish", "--publish-url", f"{upload_url(server, key)}legacy/", str(one))
    # same filename, different bytes: 409 with the reason in the reason phrase and the body
    other = tmp_path / "b" / one.name
    other.parent.mkdir()
    other.write_bytes(wheel_bytes(name, "1.0", payload=b"different"))
    out = run(
        env, "uv", "publish", "--publish-url", upload_url(server, key), str(other), check=False
    )
    assert out.returncode != 0
    assert "File already exists" in out.stderr, out.stderr
    twine = run(
        {**client_env, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": server.admin_token},
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        upload_url(server, key),
        str(other),
        check=False,
    )
    assert twine.returncode != 0
    assert "409" in twine.stdout + twine.stderr
    assert "File already exists" in twine.stdout + twine.stderr
    page = httpx.get(
        index_url(server, key) + f"{name}/", headers={**server.headers(), "Accept": JSON}
    ).json()
    assert [f["hashes"]["sha256"] for f in page["files"]] == [
        hashlib.sha256(one.read_bytes()).hexdigest()
    ]


def _post_upload(
    server: RunningServer,
    key: str,
    filename: str,
    data: bytes,
    token: str | None = None,
    **fields: str,
) -> httpx.Response:
    form = {":action": "file_upload", "protocol_version": "1", **fields}
    return httpx.post(
        upload_url(server, key),
        data=form,
        files={"content": (filename, data, "application/octet-stream")},
        auth=("__token__", token or server.admin_token),
        timeout=30,
    )


def test_upload_rejections(standalone_server: RunningServer) -> None:
    server = standalone_server
    key = create_repo(server, "pypi-local")
    good = wheel_bytes("rejects", "1.0")
    for evil in (
        "../rejects-1.0-py3-none-any.whl",
        "/etc/rejects-1.0-py3-none-any.whl",
        "rejects-1.0-py3-none-any.whl\x00.txt",
        "..%2frejects-1.0-py3-none-any.whl",
    ):
        r = _post_upload(server, key, evil, good)
        assert r.status_code == 400, (evil, r.status_code, r.text)
        assert "Invalid filename" in r.reason_phrase
    # metadata that does not match the filename
    r = _post_upload(
        server,
        key,
        wheel_name("rejects", "1.0"),
        wheel_bytes("rejects", "1.0", metadata_name="someone-else"),
    )
    assert r.status_code == 400 and "does not match its filename" in r.text
    # a wrong sha256_digest: nothing stored
    r = _post_upload(server, key, wheel_name("rejects", "1.0"), good, sha256_digest="0" * 64)
    assert r.status_code == 422 and "Digest mismatch" in r.reason_phrase
    # not a zip at all
    r = _post_upload(server, key, wheel_name("rejects", "2.0"), b"not a zip")
    assert r.status_code == 400 and "Invalid wheel" in r.reason_phrase
    # anonymous and read-only uploads
    anon = httpx.post(upload_url(server, key), data={":action": "file_upload"})
    assert anon.status_code == 401 and "Basic" in anon.headers["WWW-Authenticate"]
    reader = mint_token(server.data_dir, "read", "reader", key)
    r = _post_upload(server, key, wheel_name("rejects", "1.0"), good, token=reader)
    assert r.status_code == 403
    # uploads to a remote repository are refused
    remote = create_repo(server, "pypi-remote", {"upstream": "http://127.0.0.1:9/simple/"})
    r = _post_upload(server, remote, wheel_name("rejects", "1.0"), good)
    assert r.status_code == 405
    # more than Tornado's 100 multipart parts (many classifiers) is fine; nothing was stored
    r = _post_upload(
        server,
        key,
        wheel_name("rejects", "1.0"),
        wheel_bytes("rejects", "1.0", classifiers=150),
        **{f"classifiers_{i}": "x" for i in range(150)},
    )
    assert r.status_code == 200, r.text
    page = httpx.get(index_url(server, key) + "rejects/", headers=server.headers()).text
    assert page.count("<a ") == 1


def test_simple_api_contract(standalone_server: RunningServer) -> None:
    server = standalone_server
    key = create_repo(server, "pypi-local")
    data = wheel_bytes("Shape_Pkg", "2.0", requires_python=">=3.9,<4")
    assert _post_upload(server, key, wheel_name("Shape_Pkg", "2.0"), data).status_code == 200
    base = index_url(server, key)
    h = server.headers()
    # 301 to the normalized name with a slash
    for raw in ("Shape_Pkg/", "shape-pkg", "SHAPE.PKG"):
        r = httpx.get(base + raw, headers=h)
        assert r.status_code == 301 and r.headers["Location"].endswith(f"/{key}/simple/shape-pkg/")
    # negotiation with q-values, 406, format override
    pip_accept = f"{JSON}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
    r = httpx.get(base + "shape-pkg/", headers={**h, "Accept": pip_accept})
    assert r.headers["Content-Type"] == JSON and "Accept" in r.headers["Vary"]
    page = r.json()
    f = page["files"][0]
    assert page["meta"]["api-version"] == "1.1" and page["versions"] == ["2.0"]
    assert f["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert f["requires-python"] == ">=3.9,<4" and f["size"] == len(data)
    assert f["upload-time"].endswith("Z") and f["yanked"] is False
    assert "dist-info-metadata" not in f
    html_accept = f"{JSON};q=0.1, application/vnd.pypi.simple.v1+html"
    r = httpx.get(base + "shape-pkg/", headers={**h, "Accept": html_accept})
    assert r.headers["Content-Type"] == "application/vnd.pypi.simple.v1+html"
    assert 'data-requires-python="&gt;=3.9,&lt;4"' in r.text and "#sha256=" in r.text
    assert (
        httpx.get(base + "shape-pkg/", headers={**h, "Accept": "*/*"})
        .headers["Content-Type"]
        .startswith("text/html")
    )
    assert httpx.get(base + "shape-pkg/", headers={**h, "Accept": "image/png"}).status_code == 406
    assert httpx.get(base + f"shape-pkg/?format={JSON}", headers=h).headers["Content-Type"] == JSON
    etag = r.headers["ETag"]
    assert (
        httpx.get(
            base + "shape-pkg/", headers={**h, "Accept": html_accept, "If-None-Match": etag}
        ).status_code
        == 304
    )
    # project list
    assert {"name": "shape-pkg"} in httpx.get(base, headers={**h, "Accept": JSON}).json()[
        "projects"
    ]
    # files: HEAD, Range, .metadata with the advertised hash
    url = base + "shape-pkg/" + f["url"]
    head = httpx.head(url, headers=h)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    tail = httpx.get(url, headers={**h, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    meta = httpx.get(url + ".metadata", headers=h)
    assert hashlib.sha256(meta.content).hexdigest() == f["core-metadata"]["sha256"]
    assert httpx.get(url.replace("2.0-py3", "3.0-py3"), headers=h).status_code == 404
    assert httpx.get(base + "no-such-project/", headers=h).status_code == 404


def test_read_access(standalone_server: RunningServer) -> None:
    server = standalone_server
    private = create_repo(server, "pypi-local")
    public = create_repo(server, "pypi-local", public=True)
    for key in (private, public):
        assert (
            _post_upload(
                server, key, wheel_name("acl", "1.0"), wheel_bytes("acl", "1.0")
            ).status_code
            == 200
        )
    anon = httpx.get(index_url(server, private) + "acl/")
    assert anon.status_code == 401 and anon.headers["WWW-Authenticate"].startswith("Basic")
    assert "Authentication required" in anon.reason_phrase
    other = mint_token(server.data_dir, "read", "other", public)
    r = httpx.get(index_url(server, private) + "acl/", auth=("__token__", other))
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/problem+json"
    assert "lacks the 'read' permission" in r.json()["detail"]
    bad = httpx.get(index_url(server, private) + "acl/", auth=("__token__", "mvt_x_y"))
    assert bad.status_code == 401
    assert httpx.get(index_url(server, public) + "acl/").status_code == 200


@pytest.mark.parametrize(
    "config",
    [
        {"upstream": "ftp://example.org/simple/"},
        {"upstream": "https://example.org/simple/", "ttl_seconds": "soon"},
        {"upstream": "https://example.org/simple/", "surprise": 1},
    ],
)
def test_remote_config_validation(
    standalone_server: RunningServer, config: dict[str, object], tmp_path: Path
) -> None:
    import json
    import subprocess

    from tests.servers import cli

    with pytest.raises(subprocess.CalledProcessError) as err:
        cli(
            standalone_server.data_dir,
            "repo",
            "create",
            f"bad-{uid()}",
            "--kind",
            "pypi-remote",
            "--repo-config",
            json.dumps(config),
        )
    assert err.value.returncode == 2 and "modelvault: error:" in err.value.stderr
