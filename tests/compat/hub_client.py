"""Run the stock huggingface_hub client in a fresh interpreter.

``HF_ENDPOINT`` is read once, at import, by huggingface_hub: each scenario therefore runs in its own
``python -c`` process with the environment a user would set, and reports back as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

PRELUDE = """
import json, os, sys
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub import errors as hf_errors
api = HfApi()
def emit(value):
    print("__RESULT__" + json.dumps(value, default=str))
"""


def client_env(
    *, endpoint: str, token: str | None, hf_home: Path, extra_env: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a client interpreter: this one's without any HF_ variable, plus what
    a user would set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        DISABLE_SAFETENSORS_CONVERSION="1",
        TRANSFORMERS_VERBOSITY="error",
    )
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra_env or {})
    return env


def client_script(code: str) -> str:
    """``code`` after the prelude (``api``, ``emit`` and the huggingface_hub imports)."""
    return PRELUDE + textwrap.dedent(code)


def run_client(
    code: str,
    *,
    endpoint: str,
    token: str | None,
    hf_home: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Any:
    """Execute ``code`` (which calls ``emit(...)``) and return what it emitted.

    Raises AssertionError with the client's stderr when the script fails.
    """
    env = client_env(endpoint=endpoint, token=token, hf_home=hf_home, extra_env=extra_env)
    proc = subprocess.run(
        [sys.executable, "-c", client_script(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    results = [
        json.loads(line[len("__RESULT__") :])
        for line in proc.stdout.splitlines()
        if line.startswith("__RESULT__")
    ]
    if proc.returncode != 0 or not results:
        raise AssertionError(
            f"client script failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}\n{proc.stdout[-2000:]}"
        )
    return results[-1]
