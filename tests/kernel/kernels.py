"""Kernels on a real Jupyter server, driven over its REST API and kernel websocket."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websocket

from tests.servers import RunningServer


def jupyter_headers(server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"token {server.jupyter_token}"}


@dataclass
class ExecResult:
    stdout: str = ""
    stderr: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def text(self) -> str:
        return "\n".join(r.get("text/plain", "") for r in self.results)

    def html(self) -> str:
        return "\n".join(r.get("text/html", "") for r in self.results)


class Kernel:
    """A kernel started through the REST API (bare, or for a notebook session)."""

    def __init__(self, server: RunningServer, notebook: str | None = None) -> None:
        self.server = server
        if notebook is None:
            r = httpx.post(
                server.url + "api/kernels",
                json={"name": "python3"},
                headers=jupyter_headers(server),
                timeout=60,
            )
            assert r.status_code == 201, r.text
            self.id: str = r.json()["id"]
        else:
            r = httpx.post(
                server.url + "api/sessions",
                json={
                    "path": notebook,
                    "name": notebook,
                    "type": "notebook",
                    "kernel": {"name": "python3"},
                },
                headers=jupyter_headers(server),
                timeout=60,
            )
            assert r.status_code == 201, r.text
            self.id = r.json()["kernel"]["id"]
        ws_url = server.url.replace("http://", "ws://", 1)
        self.ws = websocket.create_connection(
            f"{ws_url}api/kernels/{self.id}/channels?session_id={uuid.uuid4().hex}",
            header=[f"Authorization: token {server.jupyter_token}"],
            timeout=120,
        )
        self.session = uuid.uuid4().hex

    def execute(self, code: str, timeout: float = 120) -> ExecResult:
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": self.session,
                        "date": "",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out = ExecResult()
        deadline = time.monotonic() + timeout
        replied = idle = False
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    out.stdout += content["text"]
                else:
                    out.stderr += content["text"]
            elif kind in ("execute_result", "display_data"):
                out.results.append(content["data"])
            elif kind == "error":
                out.error = "\n".join(content["traceback"])
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            if replied and idle:
                return out
        raise TimeoutError(f"no execute_reply within {timeout}s for:\n{code}")

    def shutdown(self) -> None:
        self.ws.close()
        httpx.delete(
            f"{self.server.url}api/kernels/{self.id}",
            headers=jupyter_headers(self.server),
            timeout=60,
        )
