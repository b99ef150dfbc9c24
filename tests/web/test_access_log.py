"""Tokens put in URLs are refused, and never written to the access log (standalone and Jupyter)."""

from __future__ import annotations

import time

import httpx
import pytest

from modelvault_jlab.web.access_log import redact_uri
from tests.servers import RunningServer


def test_redact_uri() -> None:
    assert redact_uri("/a?token=mvt_1_abc&b=2") == "/a?token=[secret]&b=2"
    assert redact_uri("/a?X-Access%5FToken=s3cr3t") == "/a?X-Access%5FToken=[secret]"
    assert redact_uri("/a?q=mvt_1_abc;x") == "/a?q=[secret];x"
    assert redact_uri("/a?q=mvt%5F1_abc") == "/a?q=[secret]"
    assert redact_uri("/files/mvt_1_abc/x") == "/files/[secret]/x"
    assert redact_uri("/a?page=2&repo=org%2Fname") == "/a?page=2&repo=org%2Fname"


def test_query_tokens_never_reach_the_access_log(server: RunningServer) -> None:
    secret = server.admin_token
    marker = f"probe{time.monotonic_ns()}"
    urls = [
        server.api(f"repositories?token={secret}&{marker}=1"),
        server.api(f"repositories?access_token={secret}&{marker}=2"),
        server.api(f"repositories?{marker}=3&q={secret}"),
        server.hf_endpoint() + f"/api/models?{marker}=4&search={secret}",
    ]
    for url in urls:
        r = httpx.get(url, headers={"Referer": f"http://elsewhere/page?x={secret}"})
        assert r.status_code in (200, 401), r.text  # a token in the URL authenticates nothing
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and server.log().count(marker) < len(urls):
        time.sleep(0.05)
    log = server.log()
    assert log.count(marker) >= len(urls), "every request is in the access log"
    assert secret not in log
    # mvt_<id>_<secret>: the secret itself may contain "_" (token_urlsafe), so split twice only
    assert secret.split("_", 2)[2] not in log
    assert "[secret]" in log


@pytest.mark.parametrize("name", ["token", "access_token"])
def test_a_query_token_is_refused(standalone_server: RunningServer, name: str) -> None:
    r = httpx.get(standalone_server.api(f"repositories?{name}={standalone_server.admin_token}"))
    assert r.status_code == 401
