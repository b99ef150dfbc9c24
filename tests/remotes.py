"""Remote repositories of a test vault over another running vault (the upstream), created over
HTTP as an admin would: the setup the remote-cache test modules share."""

from __future__ import annotations

import uuid

import httpx

from tests.servers import RunningServer, mint_token


def create_hf_remote(
    server: RunningServer,
    upstream: RunningServer,
    *,
    via: str | None = None,
    prefix: str = "hub-remote",
    **config: object,
) -> str:
    """A new hf-remote repository of ``server`` mirroring ``upstream``'s ``models`` (through the
    proxy rooted at ``via``, if given) with a read token of the upstream; returns its key.
    ``config`` adds to the repository's config (quotas, timeouts)."""
    key = f"{prefix}-{uuid.uuid4().hex[:6]}"
    token = mint_token(upstream.data_dir, "read", "mirror")
    root = via or upstream.url.rstrip("/")
    r = httpx.post(
        server.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {
                "upstream": f"{root}/modelvault/hf/models",
                "upstream_token": token,
                **config,
            },
        },
        headers=server.headers(),
    )
    assert r.status_code == 201, r.text
    assert token not in r.text  # the upstream credential never reaches a client
    return key
