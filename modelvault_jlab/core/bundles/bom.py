"""An AI bill of materials for a bundle: CycloneDX 1.6 JSON (ML-BOM).

Hub model repos become ``machine-learning-model`` components (dataset repos ``data``) with the
model-card data the manifest kept (licence, task, datasets) and one nested ``file`` component
per file with its SHA-256; Python distributions become ``library`` components with a
``pkg:pypi/<name>@<version>`` purl; generic files become ``file`` components.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .manifest import BundleManifest, FileComponent, HubComponent, PackageComponent

_NAMESPACE = uuid.UUID("6f1c3a52-6a3e-4d51-9b8e-2f0f3c7d9a11")


def _hashes(sha256: str) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": sha256}]


def _licenses(card: dict[str, Any]) -> list[dict[str, Any]]:
    raw = card.get("license")
    values = raw if isinstance(raw, list) else [raw] if raw else []
    return [{"license": {"name": str(v)}} for v in values if isinstance(v, str | int | float)]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return []


def _hub(c: HubComponent) -> dict[str, Any]:
    ref = f"hub:{c.repository}/{c.repo_type}s/{c.repo_id}@{c.commit}"
    comp: dict[str, Any] = {
        "type": "machine-learning-model" if c.repo_type == "model" else "data",
        "bom-ref": ref,
        "name": c.repo_id,
        "version": c.commit,
        "description": c.title or f"{c.repo_type} {c.repo_id}",
        "properties": [
            {"name": "modelvault:repository", "value": c.repository},
            {"name": "modelvault:repo_type", "value": c.repo_type},
            {"name": "modelvault:commit", "value": c.commit},
        ],
        "components": [
            {
                "type": "file",
                "bom-ref": f"{ref}/{f.path}",
                "name": f.path,
                "hashes": _hashes(f.sha256),
                "properties": [{"name": "modelvault:size", "value": str(f.size)}],
            }
            for f in c.files
        ],
    }
    licenses = _licenses(c.card)
    if licenses:
        comp["licenses"] = licenses
    if c.repo_type == "model":
        params: dict[str, Any] = {}
        if isinstance(c.card.get("pipeline_tag"), str):
            params["task"] = c.card["pipeline_tag"]
        if isinstance(c.card.get("library_name"), str):
            params["architectureFamily"] = c.card["library_name"]
        datasets = _strings(c.card.get("datasets"))
        if datasets:
            params["datasets"] = [{"type": "dataset", "name": d} for d in datasets]
        card: dict[str, Any] = {"modelParameters": params} if params else {}
        bases = _strings(c.card.get("base_model"))
        if bases:
            comp["properties"] += [{"name": "modelvault:base_model", "value": b} for b in bases]
        if card:
            comp["modelCard"] = card
    return comp


def _package(c: PackageComponent) -> dict[str, Any]:
    name = c.project
    return {
        "type": "library",
        "bom-ref": f"pypi:{c.filename}",
        "name": c.display_name or name,
        "version": c.version,
        "purl": f"pkg:pypi/{quote(name)}@{quote(c.version)}",
        "hashes": _hashes(c.sha256),
        "properties": [
            {"name": "modelvault:filename", "value": c.filename},
            {"name": "modelvault:repository", "value": c.repository},
        ],
    }


def _file(c: FileComponent) -> dict[str, Any]:
    return {
        "type": "file",
        "bom-ref": f"file:{c.name}",
        "name": c.name,
        "hashes": _hashes(c.sha256),
    }


def bundle_bom(manifest: BundleManifest, digest: str) -> dict[str, Any]:
    """The CycloneDX 1.6 document of a bundle (deterministic for a given manifest)."""
    components: list[dict[str, Any]] = []
    for c in manifest.components:
        if isinstance(c, HubComponent):
            components.append(_hub(c))
        elif isinstance(c, PackageComponent):
            components.append(_package(c))
        else:
            components.append(_file(c))
    ts = datetime.fromtimestamp(manifest.created_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = f"bundle:{manifest.name}@{manifest.version}"
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid5(_NAMESPACE, digest)}",
        "version": 1,
        "metadata": {
            "timestamp": ts,
            "tools": {"components": [{"type": "application", "name": "ModelVault"}]},
            "component": {
                "type": "application",
                "bom-ref": root,
                "name": manifest.name,
                "version": manifest.version,
                "hashes": _hashes(digest),
                "description": manifest.description or f"ModelVault bundle {manifest.name}",
            },
            "properties": [{"name": "modelvault:created_by", "value": manifest.created_by}],
        },
        "components": components,
        "dependencies": [{"ref": root, "dependsOn": [str(c["bom-ref"]) for c in components]}],
    }
