"""Upstreams over HTTPS: verified against the system store and ``SSL_CERT_FILE`` (a company's
TLS-inspecting proxy CA), for the JSON calls (httpx) and the file bodies (reader thread) alike."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import tornado.web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tornado.httpserver import HTTPServer

from modelvault_jlab.errors import UpstreamUnavailableError
from modelvault_jlab.upstream.hf_http import HfUpstreams

COMMIT = "c" * 40
BODY = bytes(range(256)) * 4096 * 3  # 3 MiB


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it: (ca.pem, server.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ModelVault test inspection CA"))
        .issuer_name(_name("ModelVault test inspection CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class Revision(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"sha": COMMIT, "id": "org/model"})


class File(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Length", str(len(BODY)))
        self.write(BODY)


@asynccontextmanager
async def https_hub(certificates: tuple[Path, Path, Path]) -> AsyncIterator[str]:
    """A Hub-shaped upstream over HTTPS with a certificate from the test CA."""
    _ca, cert, key = certificates
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    app = tornado.web.Application(
        [
            (r"/api/models/org/model/revision/main", Revision),
            (rf"/org/model/resolve/{COMMIT}/weights\.bin", File),
        ]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    server = HTTPServer(app, ssl_options=tls)
    server.add_sockets([sock])
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.stop()


async def _metadata(endpoint: str) -> str:
    upstreams = HfUpstreams()
    try:
        info = await upstreams(endpoint, None, 5.0).revision_info("model", "org/model", "main")
        return str(info["sha"])
    finally:
        await upstreams.aclose()


async def _file(endpoint: str) -> bytes:
    upstreams = HfUpstreams()
    try:
        upstream = upstreams(endpoint, None, 5.0)
        async with upstream.open_file("model", "org/model", COMMIT, "weights.bin") as body:
            return b"".join([chunk async for chunk in body.chunks])
    finally:
        await upstreams.aclose()


def test_an_upstream_behind_a_company_ca_in_ssl_cert_file_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = _certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates[0]))

    async def scenario() -> None:
        async with https_hub(certificates) as endpoint:
            assert await _metadata(endpoint) == COMMIT
            assert await _file(endpoint) == BODY

    asyncio.run(scenario())


def test_an_upstream_with_an_unknown_ca_is_refused_naming_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = _certificates(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = _certificates(other)  # trusted, but not the CA that signed the server
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))
    monkeypatch.setenv("SSL_CERT_DIR", str(other))

    async def scenario() -> None:
        async with https_hub(certificates) as endpoint:
            for attempt in (_metadata, _file):
                with pytest.raises(UpstreamUnavailableError, match=r"(?i)certificate"):
                    await attempt(endpoint)

    asyncio.run(scenario())
