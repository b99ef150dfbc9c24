"""Health and metrics: real servers, real traffic, scraped and parsed with prometheus_client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from prometheus_client.parser import text_string_to_metric_families

from modelvault_jlab.core.health import readiness
from modelvault_jlab.core.leases import Leases
from modelvault_jlab.core.metrics import VaultMetrics
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from tests.scanning.payloads import os_system
from tests.servers import RunningServer, cli, free_port, mint_token, running, start_standalone

SCRAPE_TOKEN = "scrape-" + uuid.uuid4().hex

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(
    server: RunningServer, path: str = "modelvault/metrics", token: str | None = None
) -> Samples:
    r = httpx.get(server.url + path, headers=server.headers(token))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("monitoring")
    with running(
        start_standalone(base / "vault", env={"MODELVAULT_METRICS_TOKEN": SCRAPE_TOKEN})
    ) as server:
        yield server


def _remote(vault: RunningServer, upstream_url: str, token: str) -> str:
    key = f"hub-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        vault.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {"upstream": upstream_url, "upstream_token": token, "timeout_seconds": 3},
        },
        headers=vault.headers(),
    )
    assert r.status_code == 201, r.text
    return key


def test_metrics_count_real_traffic(vault: RunningServer, upstream: RunningServer) -> None:
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/m-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: apache-2.0\n---\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    payload = os.urandom(4096)
    api.upload_file(path_or_fileobj=payload, path_in_repo="weights.bin", repo_id=repo_id)
    before = scrape(vault)
    local = HfApi(endpoint=vault.hf_endpoint(), token=vault.admin_token)  # hf-local "models"
    local.create_repo(repo_id)
    local.upload_file(path_or_fileobj=os_system(), path_in_repo="evil.pkl", repo_id=repo_id)
    key = _remote(vault, upstream.hf_endpoint(), mint_token(upstream.data_dir, "read", "mirror"))
    dead = _remote(vault, f"http://127.0.0.1:{free_port()}/modelvault/hf/models", "x")

    url = f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/weights.bin"
    for _ in range(2):  # a miss (streamed through), then a hit
        r = httpx.get(url, headers=vault.headers())
        assert r.status_code == 200 and r.content == payload
    blocked = httpx.get(
        f"{vault.hf_endpoint()}/{repo_id}/resolve/main/evil.pkl", headers=vault.headers()
    )
    assert blocked.status_code == 403, blocked.text
    policy = re.search(r"blocked by policy '([^']+)'", blocked.headers["x-error-message"])
    assert policy is not None
    failed = httpx.get(
        f"{vault.hf_endpoint(dead)}/{repo_id}/resolve/main/weights.bin", headers=vault.headers()
    )
    assert failed.status_code >= 500
    assert httpx.get(vault.api("info")).status_code == 200
    after = scrape(vault)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # cold: the file and the card the licence policy reads; warm: the file from the cache
    assert delta("modelvault_cache_lookups_total", repository=key, result="miss") == 2
    assert delta("modelvault_cache_lookups_total", repository=key, result="hit") >= 1
    ok = delta("modelvault_http_requests_total", family="hf_resolve", status="200")
    assert ok == 2
    assert delta("modelvault_http_requests_total", family="hf_resolve", status="403") == 1
    assert delta("modelvault_http_requests_total", family="api", status="200") >= 1
    # bytes by family: at least both bodies of the file went out
    assert delta(
        "modelvault_http_response_bytes_total", family="hf_resolve", status="200"
    ) == 2 * len(payload)
    assert delta("modelvault_blocked_downloads_total", policy=policy[1]) == 1
    assert delta("modelvault_scans_total") >= 2  # weights.bin and evil.pkl
    assert delta("modelvault_scans_total", verdict="malicious") >= 1
    assert delta("modelvault_scan_duration_seconds_count") == delta("modelvault_scans_total")
    assert delta("modelvault_upstream_requests_total", upstream="hf", outcome="ok") >= 2
    assert delta("modelvault_upstream_requests_total", upstream="hf", outcome="error") >= 1
    assert delta("modelvault_upstream_latency_seconds_count", upstream="hf", operation="file") >= 2
    assert delta("modelvault_transfers_total", outcome="ok") >= 2
    assert value(after, "modelvault_active_transfers") == 0
    # label values are route families and keys: never a path, a repo id or a file name
    assert not any(repo_id in v or "weights" in v for (_, ls) in after for _, v in ls)


def test_metrics_need_admin_or_the_scrape_token(vault: RunningServer) -> None:
    url = vault.url + "modelvault/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    reader = mint_token(vault.data_dir, "read", "rita")
    assert httpx.get(url, headers=vault.headers(reader)).status_code == 403
    assert "modelvault_http_requests_total" in str(scrape(vault, token=SCRAPE_TOKEN))
    # where Prometheus looks by default, on the standalone server
    assert "modelvault_http_requests_total" in str(scrape(vault, "metrics", token=SCRAPE_TOKEN))
    # the scrape token opens nothing else
    r = httpx.get(vault.api("repositories"), headers=vault.headers(SCRAPE_TOKEN))
    assert r.status_code == 401


def test_readiness_names_the_failing_part(vault: RunningServer) -> None:
    live = httpx.get(vault.url + "modelvault/health/live")
    assert live.status_code == 200 and live.json() == {"status": "live"}
    ready = httpx.get(vault.url + "modelvault/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["failing"] == []
    tmp = vault.data_dir / "blobs" / "tmp"
    aside = tmp.with_name("tmp-aside")
    tmp.rename(aside)
    tmp.write_bytes(b"")  # a file where the writers' folder should be (root ignores modes)
    try:
        broken = httpx.get(vault.url + "modelvault/health/ready")
        assert broken.status_code == 503
        body = broken.json()
        assert body["failing"] == ["blob_store"] and body["status"] == "unavailable"
        assert str(vault.data_dir) not in broken.text  # public probe: no paths
    finally:
        tmp.unlink()
        aside.rename(tmp)
    assert httpx.get(vault.url + "modelvault/health/ready").status_code == 200


def test_jupyter_extension_serves_metrics_and_health(jupyter_server: RunningServer) -> None:
    s = jupyter_server
    assert httpx.get(s.api("info"), headers=s.headers()).status_code == 200
    samples = scrape(s)
    assert value(samples, "modelvault_http_requests_total", family="api", status="200") >= 1
    # Jupyter's own routes are not the vault's to count
    assert {
        dict(ls).get("family") for (n, ls) in samples if n == "modelvault_http_requests_total"
    } <= {
        "api",
        "monitoring",
        "hf_api",
        "hf_resolve",
        "hf_write",
        "hf_lfs",
        "pypi_simple",
        "pypi_file",
        "pypi_upload",
        "bundles",
        "xet_cas",
        "xet_reconstruction",
        "xet_fetch",
    }
    assert httpx.get(s.url + "modelvault/metrics").status_code in (401, 403)
    assert httpx.get(s.url + "modelvault/health/ready").status_code == 200


def test_readiness_fails_closed_on_a_broken_or_hung_database(tmp_path: Path) -> None:
    class Broken(SqlMetadataStore):
        def get_setting(self, name: str) -> str | None:
            raise RuntimeError("/secret/path is gone")

    class Hung(SqlMetadataStore):
        def get_setting(self, name: str) -> str | None:
            import time

            time.sleep(1)
            return None

    blobs = FsBlobStore(tmp_path / "blobs")
    for store, error in (
        (Broken(tmp_path / "a.sqlite3"), "RuntimeError"),
        (Hung(tmp_path / "b.sqlite3"), "no answer within 0.2s"),
    ):
        checks = asyncio.run(readiness(store, blobs, timeout=0.2))
        by_part = {c.part: c for c in checks}
        assert not by_part["database"].ok and by_part["database"].error == error
        assert by_part["blob_store"].ok


def test_lease_waits_are_counted(tmp_path: Path) -> None:
    meta = SqlMetadataStore(tmp_path / "meta.sqlite3")
    metrics = VaultMetrics()
    holder = Leases(meta, holder="a")
    follower = Leases(meta, holder="b", wait_seconds=5)
    follower.observer = metrics
    lease = holder.try_hold("fetch:abc")
    assert lease is not None
    looks = iter([None, None, "done"])
    turn = follower.follow_blocking("fetch:abc", lambda: next(looks))
    lease.release()
    assert turn.result == "done"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(metrics.exposition().decode())
        for s in f.samples
    }
    assert value(samples, "modelvault_lease_waits_total", lease="fetch", outcome="result") == 1
    assert value(samples, "modelvault_lease_wait_seconds_count", lease="fetch") == 1
    # an instant answer is no wait
    follower.follow_blocking("fetch:other", lambda: "at once")
    assert b'outcome="result"} 1.0' in metrics.exposition()


def test_usage_per_repository_api_and_cli(vault: RunningServer) -> None:
    def usage() -> dict[str, Any]:
        r = httpx.get(vault.api("usage"), headers=vault.headers())
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def of(report: dict[str, Any], key: str) -> int:
        return next(int(r["bytes"]) for r in report["repositories"] if r["key"] == key)

    second = f"usage-{uuid.uuid4().hex[:6]}"
    cli(vault.data_dir, "repo", "create", second)
    before = usage()
    assert of(before, second) == 0
    body = os.urandom(12_345)
    for key in ("models", second):  # the same bytes in two repositories
        api = HfApi(endpoint=vault.hf_endpoint(key), token=vault.admin_token)
        repo_id = f"u/m-{uuid.uuid4().hex[:8]}"
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj=body, path_in_repo="w.bin", repo_id=repo_id)
    after = usage()
    assert of(after, second) - of(before, second) >= len(body)  # plus .gitattributes, if any
    assert of(after, "models") - of(before, "models") >= len(body)
    grown = after["stored"]["bytes"] - before["stored"]["bytes"]
    assert len(body) <= grown < 2 * len(body)  # stored once
    printed = json.loads(cli(vault.data_dir, "usage", "--json"))
    assert printed == after
    table = cli(vault.data_dir, "usage")
    assert second in table and "stored" in table
    reader = mint_token(vault.data_dir, "read", "rita")
    assert httpx.get(vault.api("usage"), headers=vault.headers(reader)).status_code == 403
