"""Remote repositories never reach link-local or cloud-metadata addresses: refused when configured
(400) and at connection time, whatever a name resolves to. No test sends a packet anywhere but
127.0.0.1: names are resolved by a test resolver, and refusals happen before any connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.egress import EgressPolicy
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.errors import InvalidInputError, UpstreamUnavailableError
from modelvault_jlab.storage.records import RepositoryRecord
from modelvault_jlab.upstream.egress import EgressGuard
from modelvault_jlab.upstream.hf_http import HfUpstreams
from modelvault_jlab.upstream.pypi_http import HttpxPypiUpstream
from tests.pypi.dists import wheel_bytes, wheel_name
from tests.pypi.upstream import FaultyIndex
from tests.servers import RunningServer

REFUSED = [
    "http://169.254.169.254/latest/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]:8080/",
    "http://metadata.google.internal/computeMetadata/",
    "http://METADATA.google.internal./",
    "http://100.100.100.200/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://2852039166/",  # 169.254.169.254 as one number, as the C resolver reads it
    "http://0xa9fea9fe/",
    "http://169.254.43518/",
    "http://0.0.0.0:8080/",
]


@pytest.mark.parametrize("kind", ["hf-remote", "pypi-remote"])
def test_metadata_upstreams_are_refused_at_creation(
    standalone_server: RunningServer, kind: str
) -> None:
    s = standalone_server
    for i, upstream in enumerate(REFUSED):
        url = upstream + ("simple/" if kind == "pypi-remote" else "")
        r = httpx.post(
            s.api("repositories"),
            headers=s.headers(),
            json={"key": f"egress-{kind}-{i}", "kind": kind, "config": {"upstream": url}},
        )
        assert r.status_code == 400, (url, r.text)
        message = r.json()["message"]
        assert "remote repositories may not reach it" in message, message
        assert any(w in message for w in ("link-local", "metadata", "unspecified")), message
    # and by a config change of an existing repository
    key = f"egress-{kind}-ok"
    ok = "http://127.0.0.1:9/" + ("simple/" if kind == "pypi-remote" else "")
    r = httpx.post(
        s.api("repositories"),
        headers=s.headers(),
        json={"key": key, "kind": kind, "config": {"upstream": ok}},
    )
    assert r.status_code == 201, r.text  # loopback stays allowed by default
    r = httpx.patch(
        s.api(f"repositories/{key}"),
        headers=s.headers(),
        json={"config": {"upstream": "http://169.254.169.254/simple/"}},
    )
    assert r.status_code == 400 and "cloud metadata address" in r.json()["message"]


def test_policy_settings() -> None:
    strict = EgressPolicy(allow_loopback=False, allow_private=False)
    for url in ("http://127.0.0.1/", "http://10.1.2.3/", "http://[fc00::1]/", "http://[::1]/"):
        EgressPolicy().check_upstream(url)
        with pytest.raises(InvalidInputError):
            strict.check_upstream(url)
    named = EgressPolicy(allow_hosts=frozenset({"metadata.google.internal"}))
    named.check_upstream("http://metadata.google.internal/")
    with pytest.raises(InvalidInputError):
        named.check_upstream("http://169.254.169.254/")
    EgressPolicy().check_upstream("https://pypi.org/simple/")


class _Resolver:
    """Test DNS: names map to fixed addresses; every query is recorded."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.queries: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.queries.append(host)
        return self.answers[host]


@pytest.fixture(scope="module")
def index() -> Iterator[FaultyIndex]:
    faulty = FaultyIndex()
    name = "egress"
    faulty.add(name, {wheel_name("egress-probe", "1.0"): wheel_bytes("egress-probe", "1.0")})
    yield faulty
    faulty.close()


def test_names_resolving_to_metadata_are_refused_when_connecting(index: FaultyIndex) -> None:
    resolver = _Resolver(
        {
            "index.test": ["127.0.0.1"],  # the real local index, reached by a name
            "rebound.test": ["169.254.169.254"],
            "mixed.test": ["127.0.0.1", "fe80::1"],
        }
    )
    guard = EgressGuard(EgressPolicy(), resolver)
    pypi = HttpxPypiUpstream(user_agent="test", guard=guard)
    hub = HfUpstreams(guard)

    async def run() -> None:
        try:
            page = await pypi.fetch_page(
                f"http://index.test:{index.port}/egress/simple/egress-probe/", etag=None, timeout=5
            )
            assert page.status == 200  # allowed names connect to the checked address
            wheel = await pypi.fetch_small(page.links[0].url, limit=1 << 20, timeout=5)
            assert wheel.startswith(b"PK")
            for host in ("rebound.test", "mixed.test"):
                url = f"http://{host}:{index.port}/egress/simple/egress-probe/"
                started = time.monotonic()
                with pytest.raises(UpstreamUnavailableError, match="refused to connect"):
                    await pypi.fetch_page(url, etag=None, timeout=5)
                with pytest.raises(UpstreamUnavailableError, match="refused to connect"):
                    await pypi.fetch_small(url + "x.whl", limit=10, timeout=5)
                with pytest.raises(UpstreamUnavailableError, match="refused to connect"):
                    await hub(f"http://{host}:{index.port}", None, 5).refs("model", "a/b")
                assert time.monotonic() - started < 2  # refused, not timed out
        finally:
            await pypi.aclose()
            await hub.aclose()

    asyncio.run(run())
    assert set(resolver.queries) == {"index.test", "rebound.test", "mixed.test"}
    requests = [r for r in index.requests if "/egress/" in str(r["path"])]
    assert {str(r["host"]).split(":")[0] for r in requests} == {"index.test"}


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = open_vault(VaultSettings(data_dir=str(tmp_path / "vault")))
    yield v
    v.close()


def test_a_repository_stored_before_the_rule_is_refused_at_connection(vault: Vault) -> None:
    """Configured by an older version (no check then): the connection is refused, not made."""
    vault.meta.create_repository(
        RepositoryRecord(
            "old-remote",
            "pypi-remote",
            config={"upstream": "http://169.254.169.254/simple/"},
            created_at=time.time(),
        )
    )

    async def run() -> None:
        try:
            await vault.pypi.project(SYSTEM, "old-remote", "requests")
        finally:
            await vault.aclose()

    with pytest.raises(UpstreamUnavailableError, match=r"169\.254\.169\.254: a cloud metadata"):
        asyncio.run(run())
