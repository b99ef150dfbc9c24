"""A small HTTP client for a running ModelVault (the JSON API and the Hub endpoint).

Used by the ``%modelvault`` magics; it never opens the vault's storage. Where the server is comes
from ``MODELVAULT_URL``/``MODELVAULT_TOKEN``, else from the environment a kernel started by a Jupyter
server with ModelVault gets (``HF_ENDPOINT``/``HF_TOKEN``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

_HF_ENDPOINT = re.compile(r"^(?P<base>.+/)modelvault/hf/(?P<repo>[a-z0-9][a-z0-9._-]*)/?$")


class VaultClientError(Exception):
    """A request to the vault failed; ``str()`` is a message meant for the user."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Connection:
    """Where the vault is and how to authenticate."""

    base_url: str  # server root including base_url, ending with '/'
    token: str | None
    hf_repository: str = "models"

    @property
    def hf_endpoint(self) -> str:
        return f"{self.base_url}modelvault/hf/{self.hf_repository}"


def connection_from_env(env: Mapping[str, str] | None = None) -> Connection:
    """The vault this process is configured for.

    Raises:
        VaultClientError: neither MODELVAULT_URL nor a vault HF_ENDPOINT is set.
    """
    env = os.environ if env is None else env
    endpoint = env.get("HF_ENDPOINT", "")
    m = _HF_ENDPOINT.match(endpoint)
    repo = m.group("repo") if m else "models"
    url = env.get("MODELVAULT_URL") or (m.group("base") if m else "")
    if not url:
        raise VaultClientError(
            "No ModelVault configured for this kernel: it was not started by a Jupyter server "
            "with ModelVault. Run `%modelvault setup URL TOKEN` (or set MODELVAULT_URL and "
            "MODELVAULT_TOKEN)."
        )
    token = env.get("MODELVAULT_TOKEN") or env.get("HF_TOKEN") or None
    return Connection(url.rstrip("/") + "/", token, repo)


def split_repo(spec: str, default_repository: str) -> tuple[str, str]:
    """``key:org/name`` or ``org/name`` → (repository key, repo id)."""
    if ":" in spec:
        key, _, repo_id = spec.partition(":")
        return key, repo_id
    return default_repository, spec


class VaultClient:
    """One method per call the magics make. Errors are :class:`VaultClientError`."""

    def __init__(self, connection: Connection, timeout: float = 60.0) -> None:
        self.connection = connection
        headers = {"Authorization": f"Bearer {connection.token}"} if connection.token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)

    @classmethod
    def from_env(cls) -> VaultClient:
        return cls(connection_from_env())

    def close(self) -> None:
        self._http.close()

    # -- plumbing --
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.ConnectError:
            raise VaultClientError(
                f"Cannot reach ModelVault at {self.connection.base_url}: connection refused "
                "(is the server running?)."
            ) from None
        except httpx.TimeoutException:
            raise VaultClientError(
                f"ModelVault at {self.connection.base_url} did not answer in time."
            ) from None
        except httpx.HTTPError as exc:
            raise VaultClientError(
                f"Request to ModelVault failed: {type(exc).__name__}: {exc}"
            ) from None

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.request(method, f"{self.connection.base_url}modelvault/api/{path}", **kwargs)
        raise_for_status(r, self.connection.base_url)
        return r.json() if r.content else None

    # -- JSON API --
    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self.api("GET", "info")
        return info

    def whoami(self) -> dict[str, Any]:
        """The authenticated user, or an error naming why the token is refused."""
        info = self.info()
        if info.get("user") is None:
            if not self.connection.token:
                raise VaultClientError("No ModelVault token: run `%modelvault setup URL TOKEN`.")
            # /info answers anonymously for a bad token; ask a route that checks it.
            self.api("GET", "repositories")
        return info

    def repositories(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "repositories")["repositories"])

    def repo_files(
        self, repository: str, repo_id: str, revision: str | None = None, repo_type: str = "models"
    ) -> dict[str, Any]:
        params = {"revision": revision} if revision else {}
        out: dict[str, Any] = self.api(
            "GET", f"repositories/{repository}/hub/{repo_type}/{repo_id}/files", params=params
        )
        return out

    def scan(self, sha256: str) -> dict[str, Any]:
        out: dict[str, Any] = self.api("GET", f"scans/{sha256}")
        return out

    def violations(self) -> dict[str, Any]:
        out: dict[str, Any] = self.api("GET", "violations")
        return out

    def grant_waiver(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.api("POST", "waivers", json=body)
        return out

    def lineage(self, *, subject: str | None = None, mine: bool = False) -> dict[str, Any]:
        params = {"mine": "1"} if mine else {"subject": subject or ""}
        out: dict[str, Any] = self.api("GET", "lineage", params=params)
        return out

    def bundles(self, name: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = self.api("GET", "bundles", params={"name": name} if name else {})
        return out

    def bundle(self, name: str, version: str) -> dict[str, Any]:
        out: dict[str, Any] = self.api("GET", f"bundles/{name}/{version}")
        return out

    def create_bundle(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.api("POST", "bundles", json=body)
        return out

    # -- Hub endpoint --
    def hf_url(self, repository: str) -> str:
        return f"{self.connection.base_url}modelvault/hf/{repository}"

    def head_file(self, repository: str, repo_id: str, revision: str, path: str) -> httpx.Response:
        """HEAD of a file through the Hub endpoint: 403 carries the policy's message."""
        url = (
            f"{self.hf_url(repository)}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"
        )
        return self.request("HEAD", url)

    def download(self, url: str, dest: str) -> int:
        """Stream ``url`` (a vault URL) to ``dest``; returns bytes written."""
        written = 0
        try:
            with self._http.stream("GET", url) as r:
                if r.status_code >= 400:
                    r.read()
                    raise_for_status(r, self.connection.base_url)
                with open(dest, "wb") as f:
                    for chunk in r.iter_bytes():
                        f.write(chunk)
                        written += len(chunk)
        except httpx.HTTPError as exc:
            raise VaultClientError(f"Download from ModelVault failed: {exc}") from None
        return written


def raise_for_status(r: httpx.Response, base_url: str) -> None:
    if r.status_code < 400:
        return
    message = r.headers.get("x-error-message") or ""
    code = r.headers.get("x-error-code")
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or message)
        code = body.get("code") or code
    if r.status_code == 404 and not message:
        message = (
            f"{r.request.url.path} is not on this server: is ModelVault enabled at {base_url}?"
        )
    if r.status_code == 401:
        message = f"ModelVault refused the token: {message or 'authentication required'}"
    raise VaultClientError(
        message or f"ModelVault answered {r.status_code} {r.reason_phrase}", r.status_code, code
    )
