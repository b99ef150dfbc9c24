"""A real JupyterHub for tests: DummyAuthenticator, SimpleLocalProcessSpawner, users alice and
bob (alice in the Hub group ``team-a``), and ModelVault registered as an external service.

``configurable-http-proxy`` comes from npm, installed once into ``.cache/node`` of the
repository by :func:`proxy_command` from ``tests/access/package.json`` (CI installs everything
from the repository's own files).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import RunningServer, free_port, running, start_standalone

HERE = Path(__file__).parent
NODE_PREFIX = HERE.parent.parent / ".cache" / "node"
PASSWORD = "hub-test-password"
SERVICE = "modelvault"


def proxy_command() -> str:
    """configurable-http-proxy, installed from tests/access/package.json on first use."""
    binary = NODE_PREFIX / "node_modules" / ".bin" / "configurable-http-proxy"
    if not binary.exists():
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "package.json", NODE_PREFIX / "package.json")
        npm = shutil.which("npm") or "npm"
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX)],
            check=True,
            capture_output=True,
        )
    return str(binary)


@dataclass
class Hub:
    url: str  # the proxy's public URL, ending with '/'
    api_url: str
    admin_token: str  # a service token with admin:users, tokens and servers
    vault: RunningServer
    proc: subprocess.Popen[bytes]
    log_path: Path

    def api(self, path: str, method: str = "GET", **kwargs: object) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.api_url}/{path}",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )

    def user_token(self, user: str) -> str:
        """A Hub API token of ``user`` (what the Hub's token page gives), with the user's scopes."""
        r = self.api(f"users/{user}/tokens", "POST", json={"note": "test"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


CONFIG = """
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{dir}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{dir}/cookie_secret"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allowed_users = {{"alice", "bob"}}
c.JupyterHub.spawner_class = "simple"
c.Spawner.home_dir_template = "{dir}/home/{{username}}"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {{"PYTHONPATH": "{pythonpath}"}}
c.Spawner.args = ["--VaultSettings.remote_url={vault_url}", "--allow-root"]
c.JupyterHub.load_groups = {{"team-a": {{"users": ["alice"]}}}}
c.JupyterHub.services = [
    {{
        "name": "{service}",
        "url": "{vault_url}",
        "api_token": "{service_token}",
        "oauth_redirect_uri": "{vault_url}modelvault/oauth_callback",
        "oauth_no_confirm": True,
    }},
    {{"name": "tester", "api_token": "{admin_token}"}},
]
c.JupyterHub.load_roles = [
    {{"name": "tester", "scopes": ["admin:users", "tokens", "admin:servers", "read:groups"],
      "services": ["tester"]}},
    # users reach the vault service with their Hub identity (tokens and OAuth)
    {{"name": "user", "scopes": ["self", "access:services!service={service}"]}},
    # a single-user server's own token may reach the vault as its user, with the user's groups
    {{"name": "server", "scopes": ["users:activity!user", "access:servers!server",
      "access:services!service={service}", "read:users:groups!user"]}},
]
"""


def _wait(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hub exited:\n{log_path.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"hub not ready:\n{log_path.read_text(errors='replace')}")


@contextlib.contextmanager
def running_hub(workdir: Path) -> Iterator[Hub]:
    """A Hub, and the vault run as its service (``serve --jupyterhub``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, hub_port, proxy_api_port, vault_port = (free_port() for _ in range(4))
    service_token, admin_token = secrets.token_hex(16), secrets.token_hex(16)
    vault_url = f"http://127.0.0.1:{vault_port}/"
    api_url = f"http://127.0.0.1:{hub_port}/hub/api"
    vault_env = {
        "JUPYTERHUB_SERVICE_NAME": SERVICE,
        "JUPYTERHUB_API_TOKEN": service_token,
        "JUPYTERHUB_API_URL": api_url,
        "JUPYTERHUB_CLIENT_ID": f"service-{SERVICE}",
        "JUPYTERHUB_HOST": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": f"/services/{SERVICE}/",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{vault_url}modelvault/oauth_callback",
    }
    (workdir / "jupyterhub_config.py").write_text(
        CONFIG.format(
            port=port,
            hub_port=hub_port,
            proxy_api_port=proxy_api_port,
            dir=workdir,
            proxy=proxy_command(),
            password=PASSWORD,
            pythonpath=os.environ.get("PYTHONPATH", ""),
            vault_url=vault_url,
            service=SERVICE,
            service_token=service_token,
            admin_token=admin_token,
        )
    )
    log_path = workdir / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"  # jupyterhub-singleuser
    with running(
        start_standalone(workdir / "vault", "--jupyterhub", port=vault_port, env=vault_env)
    ) as vault:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(workdir / "jupyterhub_config.py")],
            cwd=workdir,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        try:
            _wait(f"{api_url}/", proc, log_path)
            yield Hub(f"http://127.0.0.1:{port}/", api_url, admin_token, vault, proc, log_path)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
