"""``%modelvault lock`` and ``%modelvault offline check``: what this kernel fetched through the vault,
pinned to commits and sha256s, and whether it is available without the network."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from .client import VaultClient, VaultClientError

LOCK_VERSION = 1


def build_lock(client: VaultClient, fetches: list[dict[str, Any]]) -> dict[str, Any]:
    """Group download events into pinned models (repo@commit + files) and packages."""
    models: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    packages: dict[tuple[str, str], dict[str, Any]] = {}
    for f in fetches:
        if f.get("action") == "hub.file.download" and f.get("commit"):
            key = (f["repository"], f.get("repo_type") or "model", f["repo_id"], f["commit"])
            entry = models.setdefault(
                key,
                {
                    "repository": key[0],
                    "repo_type": key[1],
                    "repo_id": key[2],
                    "commit": key[3],
                    "files": {},
                },
            )
            entry["files"][f["path"]] = {
                "path": f["path"],
                "sha256": f.get("sha256") or None,
                "size": f.get("size"),
            }
        elif f.get("action") == "pypi.file.download":
            pkey = (f["repository"], f["subject"])
            base = client.connection.base_url
            packages[pkey] = {
                "repository": f["repository"],
                "filename": f["subject"],
                "sha256": f.get("sha256"),
                "url": f"{base}modelvault/pypi/{f['repository']}/files/{f.get('sha256')}/"
                f"{f['subject']}",
            }
    return {
        "modelvault_lock": LOCK_VERSION,
        "server": client.connection.base_url,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notebook": next((f.get("notebook") for f in fetches if f.get("notebook")), None),
        "models": [
            {**m, "files": sorted(m["files"].values(), key=lambda x: x["path"])}
            for m in models.values()
        ],
        "packages": sorted(packages.values(), key=lambda p: p["filename"]),
    }


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def offline_status(
    client: VaultClient,
    lock: dict[str, Any],
    *,
    warm: bool,
    cache_dir: str | None,
    wheelhouse: Path,
) -> list[dict[str, Any]]:
    """One row per locked file: cached (at its pinned commit / sha256) or missing; ``warm``
    fetches the missing ones through the vault."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    rows: list[dict[str, Any]] = []
    for model in lock.get("models", []):
        repo_type = model.get("repo_type") or "model"
        for f in model.get("files", []):
            found = try_to_load_from_cache(
                model["repo_id"],
                f["path"],
                cache_dir=cache_dir,
                revision=model["commit"],
                repo_type=repo_type,
            )
            state = "cached" if isinstance(found, str) else "missing"
            if state == "missing" and warm:
                try:
                    hf_hub_download(
                        model["repo_id"],
                        f["path"],
                        revision=model["commit"],
                        repo_type=repo_type,
                        endpoint=client.hf_url(model["repository"]),
                        token=client.connection.token,
                        cache_dir=cache_dir,
                    )
                    state = "warmed"
                except Exception as exc:  # report per file; keep warming the rest
                    state = f"failed: {str(exc).splitlines()[0]}"
            rows.append(
                {
                    "kind": "model",
                    "what": f"{model['repo_id']}@{model['commit'][:12]}",
                    "file": f["path"],
                    "state": state,
                }
            )
    for p in lock.get("packages", []):
        target = wheelhouse / p["filename"]
        ok = target.is_file() and (not p.get("sha256") or sha256_of(target) == p["sha256"])
        state = "cached" if ok else "missing"
        if not ok and warm:
            try:
                wheelhouse.mkdir(parents=True, exist_ok=True)
                client.download(p["url"], str(target))
                state = "warmed"
            except VaultClientError as exc:
                state = f"failed: {exc}"
        rows.append(
            {"kind": "package", "what": p["repository"], "file": p["filename"], "state": state}
        )
    return rows
