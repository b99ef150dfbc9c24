"""What a Xet upload cost the server, read from outside: request bytes it received (its own
/metrics counter) and bytes its blob store holds. Shared by tests/xet and bench/bench_xet.py."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families


def metric_total(root_url: str, token: str, name: str, **labels: str) -> float:
    """Sum of the ``name`` counter's samples (matching ``labels``) in the server's /metrics;
    ``root_url`` is the server root (``http://host:port/``)."""
    r = httpx.get(
        f"{root_url.rstrip('/')}/metrics",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    r.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(r.text):
        if family.name == name:
            total += sum(
                s.value
                for s in family.samples
                if s.name.endswith("_total")
                and all(s.labels.get(k) == v for k, v in labels.items())
            )
    return total


def request_bytes(root_url: str, token: str) -> int:
    """Request-body bytes the server has received on every route (declared Content-Length):
    xorbs, shards, commits, LFS objects."""
    return int(metric_total(root_url, token, "modelvault_http_request_bytes"))


def blob_bytes(data_dir: Path) -> int:
    """Bytes in the filesystem blob store of ``data_dir`` (temp files of uploads excluded)."""
    root = data_dir / "blobs"
    return sum(
        p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and "tmp" not in p.relative_to(root).parts
    )
