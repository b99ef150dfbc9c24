"""``%modelvault lock``, ``offline`` and ``bundle``: what this kernel fetched, as a lock, an
offline preflight and a release bundle."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .display import JsonDocument, Note, Table
from .lockfile import build_lock, offline_status
from .session import Result, UsageError, _client


def cmd_lock(args: argparse.Namespace) -> Result:
    with _client() as client:
        lineage = client.lineage(mine=True)
        lock = build_lock(client, lineage["fetches"])
    doc = JsonDocument("ModelVault lock (what this kernel fetched through the vault)", lock)
    if args.output:
        Path(args.output).write_text(doc.text() + "\n")
        doc.notes.append(Note(f"written to {args.output}", "ok"))
    if not lock["models"] and not lock["packages"]:
        doc.notes.append(Note("Nothing was fetched through the vault with this kernel's token."))
    return doc


def cmd_offline(args: argparse.Namespace) -> Result:
    if args.action != "check":
        raise UsageError("usage: %modelvault offline check [--lock FILE] [--warm]")
    with _client() as client:
        if args.lock:
            lock = json.loads(Path(args.lock).read_text())
        else:
            lock = build_lock(client, client.lineage(mine=True)["fetches"])
        rows = offline_status(
            client,
            lock,
            warm=args.warm,
            cache_dir=args.cache_dir,
            wheelhouse=Path(args.wheelhouse),
        )
    table = Table("Offline preflight", ("kind", "what", "file", "state"))
    table.rows = [(r["kind"], r["what"], r["file"], r["state"]) for r in rows]
    table.data = rows
    missing = [r for r in rows if r["state"] == "missing" or r["state"].startswith("failed")]
    if missing:
        table.note(
            f"{len(missing)} of {len(rows)} locked files are not available offline"
            + ("" if args.warm else " (run with --warm to fetch them)"),
            "warning",
        )
    else:
        table.note(f"All {len(rows)} locked files are available offline.", "ok")
    return table


def lock_components(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """Bundle components pinning what a lock names (repos at their commits, exact wheels)."""
    components: list[dict[str, Any]] = [
        {
            "kind": "hub",
            "repository": m["repository"],
            "repo_type": m.get("repo_type") or "model",
            "repo_id": m["repo_id"],
            "revision": m["commit"],
        }
        for m in lock.get("models", [])
    ]
    for p in lock.get("packages", []):
        name, _, rest = p["filename"].partition("-")
        version = rest.split("-")[0].removesuffix(".tar.gz").removesuffix(".zip")
        components.append(
            {
                "kind": "package",
                "repository": p["repository"],
                "name": name,
                "version": version,
                "filename": p["filename"],
            }
        )
    return components


def cmd_bundle(args: argparse.Namespace) -> Result:
    with _client() as client:
        if args.action == "list":
            listing = client.bundles(args.name)
            table = Table(
                "ModelVault bundles", ("name", "version", "environment", "created by", "digest")
            )
            for b in listing.get("bundles", []):
                table.rows.append(
                    (
                        b["name"],
                        b["version"],
                        b.get("environment") or "",
                        b.get("created_by"),
                        (b.get("digest") or "")[:19],
                    )
                )
            table.data = listing
            if not table.rows:
                table.note("No bundle yet: %modelvault bundle create NAME VERSION")
            return table
        if not args.name or not args.version:
            raise UsageError(f"usage: %modelvault bundle {args.action} NAME VERSION")
        if args.action == "create":
            if args.lock:
                lock = json.loads(Path(args.lock).read_text())
            else:
                lock = build_lock(client, client.lineage(mine=True)["fetches"])
            components = lock_components(lock)
            if not components:
                raise UsageError(
                    "Nothing to bundle: this kernel fetched nothing through the vault."
                )
            bundle = client.create_bundle(
                {"name": args.name, "version": args.version, "components": components}
            )
        else:
            bundle = client.bundle(args.name, args.version)
    table = Table(
        f"Bundle {bundle['name']} {bundle['version']} ({bundle.get('environment') or 'no env'})",
        ("kind", "repository", "what", "pinned", "files"),
    )
    for c in (bundle.get("manifest") or {}).get("components", []):
        if c.get("kind") == "hub":
            table.rows.append(
                ("hub", c["repository"], c["repo_id"], c["commit"][:12], len(c.get("files", [])))
            )
        elif c.get("kind") == "package":
            table.rows.append(
                (
                    "package",
                    c["repository"],
                    f"{c['name']}=={c['version']}",
                    (c.get("sha256") or "")[:12],
                    c.get("filename"),
                )
            )
        else:
            table.rows.append((c.get("kind"), "", c.get("name"), (c.get("sha256") or "")[:12], ""))
    table.note(
        f"digest {bundle.get('digest')}, signed with key "
        f"{(bundle.get('signature') or {}).get('key_id')}"
    )
    table.data = bundle
    return table
