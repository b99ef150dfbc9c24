"""Domain and wire units: names, negotiation, multipart, metadata, upstream parsing, config."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest

from modelvault_jlab.core.pypi import PypiOptions
from modelvault_jlab.core.pypi.metadata import parse_core_metadata, sdist_pkg_info, wheel_metadata
from modelvault_jlab.core.pypi.names import normalize, parse_filename, validate_project_name
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.errors import InvalidInputError, OfflineModeError
from modelvault_jlab.protocols.multipart import (
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    boundary_of,
)
from modelvault_jlab.protocols.pypi import negotiate
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.packages import RemoteLinkRecord, RemotePageRecord
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from modelvault_jlab.storage.sql.packages import SqlPackageStore
from modelvault_jlab.upstream.pypi_parse import MalformedPageError, parse_page

from .dists import sdist_bytes, wheel_bytes


def test_names() -> None:
    assert normalize("My.Private__Pkg") == "my-private-pkg"
    assert validate_project_name("Typing_Extensions") == "typing-extensions"
    for bad in ("..", "../x", "a/b", "a\x00b", "-a", "", "a" * 201):
        with pytest.raises(InvalidInputError):
            validate_project_name(bad)
    w = parse_filename("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert (w.name, w.version, w.packagetype) == ("torch", "2.13.0+cpu", "bdist_wheel")
    s = parse_filename("my-old-pkg-1.0.post1.tar.gz")
    assert (s.name, s.version, s.packagetype) == ("my-old-pkg", "1.0.post1", "sdist")
    for bad in (
        "../x-1.0.tar.gz",
        "x-1.0.exe",
        "/abs-1.0.tar.gz",
        "x%2e-1.0.tar.gz",
        "x-1.0.tar.gz\x00",
        "nover.tar.gz",
        "a\\b-1.0.tar.gz",
    ):
        with pytest.raises(InvalidInputError):
            parse_filename(bad)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
            "text/html; q=0.01",
            "json",
        ),
        (
            "application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json, "
            "text/html;q=0.01",
            "json",
        ),
        ("application/vnd.pypi.simple.v1+json;q=0.5, application/vnd.pypi.simple.v1+html", "html"),
        ("application/vnd.pypi.simple.latest+json", "json"),
        ("text/html", "text/html"),
        (None, "text/html"),
        ("*/*", "text/html"),
        ("application/json", None),
        ("application/vnd.pypi.simple.v1+json;q=0", None),
    ],
)
def test_negotiation(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_multipart_streaming_every_split() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="content"; filename="a-1.0.tar.gz"'
        b"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyY-not-the-boundary\r\n"
        b"bytes\r\n--XyZ--\r\n"
    )
    assert boundary_of('multipart/form-data; boundary="XyZ"') == b"XyZ"
    for split in range(1, len(body)):
        parser = MultipartParser(b"XyZ")
        events = parser.feed(body[:split]) + parser.feed(body[split:])
        assert parser.complete
        starts = [e for e in events if isinstance(e, PartStart)]
        assert starts == [PartStart(":action", None), PartStart("content", "a-1.0.tar.gz")]
        assert sum(isinstance(e, PartEnd) for e in events) == 2
        data = b"".join(e.data for e in events if isinstance(e, PartData))
        assert data == b"file_upload" + b"\r\n--XyY-not-the-boundary\r\nbytes"
    with pytest.raises(InvalidInputError):
        boundary_of("application/json")
    with pytest.raises(InvalidInputError):
        MultipartParser(b"b").feed(b"--b\r\n" + b"X" * 20000)
    with pytest.raises(InvalidInputError):
        MultipartParser(b"b").feed(b"--b-junk\r\n")


def test_metadata_extraction() -> None:
    meta = parse_core_metadata(wheel_metadata(io.BytesIO(wheel_bytes("M.x", "1.0"))))
    assert (meta.name, meta.version, meta.requires_python) == ("M.x", "1.0", ">=3.8")
    pkg = parse_core_metadata(sdist_pkg_info(io.BytesIO(sdist_bytes("m", "2.0")), "m-2.0.tar.gz"))
    assert pkg.version == "2.0"
    for garbage in (b"", b"PK\x03\x04 nope", b"\x1f\x8b not gzip"):
        with pytest.raises(InvalidInputError):
            wheel_metadata(io.BytesIO(garbage))
        with pytest.raises(InvalidInputError):
            sdist_pkg_info(io.BytesIO(garbage), "x-1.0.tar.gz")


def test_upstream_page_parsing() -> None:
    sha = "a" * 64
    html = (
        f'<a href="../../f/x-1.0.tar.gz#sha256={sha}" data-requires-python="&gt;=3.9" '
        f'data-yanked="" data-core-metadata="sha256={sha}">x-1.0.tar.gz</a>'
        '<a href="../../f/nohash-1.0.tar.gz">nohash-1.0.tar.gz</a>'
        f'<a href="file:///etc/passwd#sha256={sha}">x-2.0.tar.gz</a>'
        f'<a href="../../f/evil#sha256={sha}">../evil-1.0.tar.gz</a>'
    ).encode()
    links = parse_page(html, "text/html", "http://up.example/simple/x/")
    assert links == (
        RemoteLinkRecord(
            filename="x-1.0.tar.gz",
            sha256=sha,
            url="http://up.example/f/x-1.0.tar.gz",
            requires_python=">=3.9",
            yanked="",
            metadata_sha256=sha,
        ),
    )
    for body, ctype in [
        (b"{", "application/vnd.pypi.simple.v1+json"),
        (b'{"files": 1}', "application/vnd.pypi.simple.v1+json"),
        (b"\xff\xfe", "text/html"),
        (b"x", "image/png"),
    ]:
        with pytest.raises(MalformedPageError):
            parse_page(body, ctype, "http://up.example/simple/x/")


def test_config_validation_and_global_offline(tmp_path: Path) -> None:
    meta = SqlMetadataStore(tmp_path / "m.sqlite3")
    vault = Vault(
        meta,
        FsBlobStore(tmp_path / "blobs"),
        packages=SqlPackageStore(tmp_path / "m.sqlite3"),
        pypi_options=PypiOptions(offline=True),
    )
    check = vault.pypi.validate_config
    check("pypi-remote", {"upstream": "https://pypi.org/simple/", "ttl_seconds": 60})
    for bad in (
        {"upstream": "file:///tmp/simple/"},
        {},
        {"upstream": "https://x/", "ttl_seconds": -1},
        {"upstream": "https://x/", "offline": "yes"},
    ):
        with pytest.raises(InvalidInputError):
            check("pypi-remote", bad)
    with pytest.raises(InvalidInputError):
        check("pypi-virtual", {"members": ["nope"]})
    from modelvault_jlab.core.identity import SYSTEM

    vault.repositories.create(
        SYSTEM, "up", "pypi-remote", config={"upstream": "http://127.0.0.1:9/"}
    )
    vault.pypi.validate_config("pypi-virtual", {"members": ["up"]})
    # the server-wide offline switch: cached pages are served (only cached files), never fetched
    store = SqlPackageStore(tmp_path / "m.sqlite3")
    store.put_remote_page(
        RemotePageRecord(
            "up",
            "cached",
            200,
            time.time() - 10**6,
            links=(RemoteLinkRecord("cached-1.0.tar.gz", "b" * 64, "http://127.0.0.1:9/f"),),
        )
    )
    page = asyncio.run(vault.pypi.project(SYSTEM, "up", "cached"))
    assert page.notice == "offline" and page.files == ()
    with pytest.raises(OfflineModeError):
        asyncio.run(vault.pypi.project(SYSTEM, "up", "other"))
    vault.close()
