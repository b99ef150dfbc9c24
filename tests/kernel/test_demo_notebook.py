"""examples/demo.ipynb runs top to bottom in a fresh kernel (nbclient), offline: the unlicensed
model is blocked with the policy's message, the OWL-ViT pipeline draws boxes, the lock is written."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.kernel.conftest import REPO_ROOT

NOTEBOOK = REPO_ROOT / "examples" / "demo.ipynb"


def test_demo_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "error")
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    started = time.monotonic()
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert time.monotonic() - started < 90

    texts: list[str] = []
    images = widgets = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            if out["output_type"] == "stream":
                texts.append(out["text"])
            elif "data" in out:
                texts.append(out["data"].get("text/plain", ""))
                images += "image/png" in out["data"]
                widgets += "application/vnd.jupyter.widget-view+json" in out["data"]
    text = "\n".join(texts)
    assert (
        "BLOCKED: blocked by policy 'approved-licenses': model acme/tiny-owlvit-nolicence "
        "has no licence" in text
    )
    assert "3 detections" in text and images == 1
    assert widgets == 1  # the waiver form under %modelvault why
    lock = json.loads((tmp_path / "demo.lock.json").read_text())
    [model] = lock["models"]
    assert model["repo_id"] == "acme/tiny-owlvit" and len(model["commit"]) == 40
    assert "model.safetensors" in [f["path"] for f in model["files"]]
    assert "All 5 locked files are available offline" in text
