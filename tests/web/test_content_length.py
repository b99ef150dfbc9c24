"""A hostile ``Content-Length`` gets a 4xx on every kind of route, never a 500.

``str.isdigit`` accepts ``"²"`` (headers are latin-1) and ``int()`` refuses strings of thousands of
digits: both once turned a refused request into a 500. ``declared_length`` must read exactly what
Tornado's HTTP/1 reader accepts (differential test against ``tornado.http1connection.parse_int``).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tornado.http1connection import parse_int

from modelvault_jlab.protocols.content_length import LENGTH_CAP, declared_length
from tests.servers import RunningServer
from tests.web.test_bad_input import raw_request

HEADER_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec="latin-1"), max_size=30),
    st.text(alphabet="0123456789²³¹٣ +-_", max_size=30),
    st.integers(min_value=0, max_value=10**40).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
)


@given(HEADER_TEXT)
def test_declared_length_reads_what_tornado_reads(value: str) -> None:
    ours = declared_length(value)
    try:
        theirs = parse_int(value)
    except ValueError:
        # Tornado refuses it, or Python's int() refuses a number of over 4,300 digits that
        # Tornado's pattern accepted: that one is simply larger than any limit.
        assert ours is None or ours == LENGTH_CAP
        if ours is not None:
            assert value.isascii() and value.isdigit()
        return
    assert ours == min(theirs, LENGTH_CAP)


def test_absent_header_is_none() -> None:
    assert declared_length(None) is None
    assert declared_length("") is None
    assert declared_length("0" * 40 + "7") == 7


HOSTILE = ["9" * 5000, "9" * 25, "\u00b2", "1\u00b2"]


@pytest.fixture(scope="module")
def pypi_key(standalone_server: RunningServer) -> str:
    key = f"cl-{uuid.uuid4().hex[:8]}"
    r = httpx.post(
        standalone_server.api("repositories"),
        headers=standalone_server.headers(),
        json={"key": key, "kind": "pypi-local"},
    )
    assert r.status_code == 201, r.text
    return key


@pytest.mark.parametrize("length", HOSTILE)
def test_hostile_length_is_a_4xx_everywhere(
    standalone_server: RunningServer, pypi_key: str, length: str
) -> None:
    routes = [
        ("POST", f"/modelvault/hf/models/cas/v1/xorbs/default/{'0' * 64}"),  # streamed, Xet auth
        ("POST", f"/modelvault/pypi/{pypi_key}/legacy"),  # streamed by hand
        ("POST", "/modelvault/api/repositories"),  # buffered by Tornado
    ]
    for method, path in routes:
        status, _, body = raw_request(
            standalone_server, method, path, headers={"Content-Length": length}
        )
        assert 400 <= status < 500, (path, length, status, body[:200])
