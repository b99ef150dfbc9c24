"""The remote fetcher's trust in an upstream's answers: where the Hub token goes, how much of an
answer is read."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from modelvault_jlab.upstream.xet_http import (
    MAX_TOKEN_BYTES,
    XetDownloader,
    XetFetchError,
    XetPointer,
)

FILE_HASH = "ab" * 32
RESOLVE = "http://upstream.test:8080/org/m/resolve/main/w.bin"


def head(link: str) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"X-Xet-Hash": FILE_HASH, "X-Linked-Size": "10", "Link": link},
        request=httpx.Request("HEAD", RESOLVE),
    )


def test_token_route_on_the_upstreams_origin_is_followed() -> None:
    pointer = XetPointer.from_head(head('</api/models/org/m/xet-read-token/c0>; rel="xet-auth"'))
    assert pointer is not None
    assert pointer.token_url == "http://upstream.test:8080/api/models/org/m/xet-read-token/c0"


@pytest.mark.parametrize(
    "route",
    [
        "http://elsewhere.test:8080/api/models/org/m/xet-read-token/c0",
        "https://upstream.test:8080/api/models/org/m/xet-read-token/c0",
        "http://upstream.test:9999/api/models/org/m/xet-read-token/c0",
        "//elsewhere.test/api/models/org/m/xet-read-token/c0",
    ],
)
def test_token_route_elsewhere_is_not_sent_the_hub_token(route: str) -> None:
    # another origin would receive the remote's Hub token: the file streams over plain HTTP
    assert XetPointer.from_head(head(f'<{route}>; rel="xet-auth"')) is None


def test_an_oversized_answer_is_refused_before_it_is_read_whole() -> None:
    sent: list[int] = []

    async def endless() -> object:
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 4096

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            downloader = XetDownloader(client, {}, 5.0)
            pointer = XetPointer(FILE_HASH, 10, "http://upstream.test/token")
            with pytest.raises(XetFetchError, match="larger than"):
                await downloader.plan(pointer)

    asyncio.run(run())
    assert len(sent) * 4096 <= MAX_TOKEN_BYTES + 2 * 4096  # stopped at the limit, not at the end
