"""Inside Jupyter, the JSON API trusts the Jupyter login only as far as Jupyter does: a request
without a vault token gets Jupyter's XSRF check (a web page the user visits cannot mint tokens,
create repositories, grant waivers or trust signing keys), and Jupyter's ``Authorizer`` decides
whether the user may write at all."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.servers import RunningServer, running, start_jupyter

EVIL_ORIGIN = "https://evil.example"


def _login(server: RunningServer) -> httpx.Client:
    """A browser that logged in to Jupyter: a login cookie and an ``_xsrf`` cookie."""
    browser = httpx.Client(timeout=60)
    browser.get(f"{server.url}login")  # sets _xsrf
    r = browser.post(
        f"{server.url}login",
        data={"password": server.jupyter_token, "_xsrf": browser.cookies["_xsrf"]},
    )
    assert r.status_code in (200, 302), r.text
    assert any(c.startswith("username-") for c in browser.cookies)
    return browser


Attack = Callable[[RunningServer], tuple[str, dict[str, Any]]]


def _mint(s: RunningServer) -> tuple[str, dict[str, Any]]:
    return "tokens", {"name": f"evil-{uuid.uuid4().hex[:6]}", "scope": "admin"}


def _repo(s: RunningServer) -> tuple[str, dict[str, Any]]:
    return "repositories", {"key": f"evil-{uuid.uuid4().hex[:6]}", "kind": "hf-local"}


def _waiver(s: RunningServer) -> tuple[str, dict[str, Any]]:
    return "waivers", {
        "policy": "malicious-models",
        "sha256": os.urandom(32).hex(),
        "justification": "trust me",
        "expires_in_seconds": 3600,
    }


def _trust(s: RunningServer) -> tuple[str, dict[str, Any]]:
    return "bundle-keys", {"public_key": base64.b64encode(os.urandom(32)).decode()}


ATTACKS = {"mint-token": _mint, "create-repo": _repo, "waiver": _waiver, "trust-key": _trust}


def _state(s: RunningServer) -> dict[str, Any]:
    """What the attacks would change, read with the admin's vault token."""
    get = lambda path: httpx.get(s.api(path), headers=s.headers(), timeout=30).json()  # noqa: E731
    return {
        "tokens": sorted(t["id"] for t in get("tokens")["tokens"]),
        "repositories": sorted(r["key"] for r in get("repositories")["repositories"]),
        "waivers": sorted(w["id"] for w in get("waivers?all=true")["waivers"]),
        "keys": get("bundle-keys"),
    }


@pytest.fixture(scope="module")
def browser(jupyter_server: RunningServer) -> Iterator[httpx.Client]:
    client = _login(jupyter_server)
    yield client
    client.close()


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_cross_site_cookie_post_is_refused(
    jupyter_server: RunningServer, browser: httpx.Client, attack: str
) -> None:
    s = jupyter_server
    path, body = ATTACKS[attack](s)
    before = _state(s)
    # what a form or fetch() on another site sends: the cookies, no _xsrf, text/plain
    r = browser.post(
        s.api(path),
        content=httpx.Request("POST", "/", json=body).content,
        headers={"Content-Type": "text/plain", "Origin": EVIL_ORIGIN},
    )
    assert r.status_code == 403, r.text
    # Jupyter's own API refuses it as well (with a 404)
    r = browser.post(
        f"{s.url}api/contents",
        content=b'{"type": "notebook"}',
        headers={"Content-Type": "text/plain", "Origin": EVIL_ORIGIN},
    )
    assert r.status_code in (403, 404), r.text
    # the same without an Origin header (older browsers, form posts) is refused too
    r = browser.post(s.api(path), json=body)
    assert r.status_code == 403 and "_xsrf" in r.text, r.text
    assert _state(s) == before


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_same_site_post_with_xsrf_token_works(
    jupyter_server: RunningServer, browser: httpx.Client, attack: str
) -> None:
    s = jupyter_server
    path, body = ATTACKS[attack](s)
    r = browser.post(s.api(path), json=body, headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert r.status_code == 201, r.text


def test_vault_token_needs_no_xsrf(jupyter_server: RunningServer, browser: httpx.Client) -> None:
    s = jupyter_server
    path, body = _repo(s)
    # a vault token in Authorization cannot come from a forged request: no XSRF check, even
    # alongside the login cookie
    r = browser.post(s.api(path), json=body, headers=s.headers())
    assert r.status_code == 201, r.text
    assert r.json()["key"] == body["key"]


@pytest.fixture(scope="module")
def readonly_jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("jupyter-readonly")
    server = start_jupyter(
        base / "vault",
        base / "root",
        "--ServerApp.authorizer_class=tests.web.authorizers.ReadOnlyAuthorizer",
    )
    with running(server):
        yield server


def test_read_only_collaborator_stays_read_only(readonly_jupyter: RunningServer) -> None:
    s = readonly_jupyter
    jupyter = {"Authorization": f"token {s.jupyter_token}"}
    info = httpx.get(s.api("info"), headers=jupyter, timeout=30)
    assert info.status_code == 200
    assert info.json()["user"]["admin"] is False and info.json()["user"]["scope"] == "read"
    assert httpx.get(s.api("repositories"), headers=jupyter, timeout=30).status_code == 200
    before = _state(s)
    for attack in ATTACKS.values():
        path, body = attack(s)
        r = httpx.post(s.api(path), json=body, headers=jupyter, timeout=30)
        assert r.status_code == 403, (path, r.text)
    browser = _login(s)
    path, body = _repo(s)
    r = browser.post(s.api(path), json=body, headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert r.status_code == 403, r.text
    assert browser.get(s.api("repositories")).status_code == 200
    browser.close()
    assert _state(s) == before
    # a vault admin token is the vault's own authority, not Jupyter's
    path, body = _repo(s)
    assert httpx.post(s.api(path), json=body, headers=s.headers(), timeout=30).status_code == 201
