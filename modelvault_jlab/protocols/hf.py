"""Hugging Face Hub wire shapes: domain records -> the JSON the stock client parses.

Shapes follow what huggingface_hub 2.4 reads (see shared/hf-protocol.md). Xet fields (``xetHash``)
are never emitted: the client would then bypass our HTTP endpoints.
"""

from __future__ import annotations

import time
from typing import Any

from ..core.content import lfs_pointer
from ..core.hub.refs import Resolved
from ..core.hub.tree import TreeEntry
from ..storage.records import CommitRecord, FileEntry, HubRepoRecord, RefRecord

HEADER_REPO_COMMIT = "X-Repo-Commit"
HEADER_LINKED_ETAG = "X-Linked-Etag"
HEADER_LINKED_SIZE = "X-Linked-Size"
HEADER_ERROR_CODE = "X-Error-Code"
HEADER_ERROR_MESSAGE = "X-Error-Message"

TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
TYPE_FROM_PLURAL = {"models": "model", "datasets": "dataset", "spaces": "space"}
TYPE_FROM_PREFIX = {None: "model", "": "model", "datasets": "dataset", "spaces": "space"}


def hub_date(ts: float) -> str:
    """The only format the client parses: ``2024-01-02T03:04:05.000Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def etag_of(entry: FileEntry) -> str:
    """git blob sha1 for regular files, sha256 for LFS files (what the Hub sends)."""
    return entry.sha256 if entry.lfs else entry.git_oid


def tree_entry(entry: TreeEntry) -> dict[str, Any]:
    if entry.file is None:
        return {"type": "directory", "path": entry.path, "oid": entry.oid, "size": 0}
    f = entry.file
    out: dict[str, Any] = {"type": "file", "path": f.path, "size": f.size, "oid": f.git_oid}
    if f.lfs:
        out["lfs"] = {
            "oid": f.sha256,
            "size": f.size,
            "pointerSize": len(lfs_pointer(f.sha256, f.size)),
        }
    return out


def sibling(entry: FileEntry, blobs: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"rfilename": entry.path}
    if blobs:
        out["size"] = entry.size
        out["blobId"] = entry.git_oid
        if entry.lfs:
            out["lfs"] = {
                "sha256": entry.sha256,
                "size": entry.size,
                "pointerSize": len(lfs_pointer(entry.sha256, entry.size)),
            }
    return out


def repo_info(
    resolved: Resolved, files: list[FileEntry], card: dict[str, Any], *, blobs: bool
) -> dict[str, Any]:
    repo = resolved.repo
    tags = [f"license:{card['license']}"] if isinstance(card.get("license"), str) else []
    info: dict[str, Any] = {
        "_id": f"{repo.repository}:{repo.id}",
        "id": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "sha": resolved.commit.sha,
        "lastModified": hub_date(resolved.commit.created_at),
        "createdAt": hub_date(repo.created_at),
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": tags,
        "cardData": card,
        "siblings": [sibling(f, blobs) for f in files],
    }
    if repo.repo_type == "model":
        info["modelId"] = repo.repo_id
        for key in ("library_name", "pipeline_tag"):
            if isinstance(card.get(key), str):
                info[key] = card[key]
    if blobs:
        info["usedStorage"] = sum(f.size for f in files)
    return info


def repo_summary(repo: HubRepoRecord) -> dict[str, Any]:
    return {
        "_id": f"{repo.repository}:{repo.id}",
        "id": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "private": repo.private,
        "createdAt": hub_date(repo.created_at),
        "tags": [],
        "downloads": 0,
        "likes": 0,
    }


def refs(records: list[RefRecord], include_prs: bool) -> dict[str, Any]:
    def item(r: RefRecord, prefix: str) -> dict[str, str]:
        return {"name": r.name, "ref": f"{prefix}{r.name}", "targetCommit": r.commit}

    out: dict[str, Any] = {
        "branches": [item(r, "refs/heads/") for r in records if r.kind == "branch"],
        "tags": [item(r, "refs/tags/") for r in records if r.kind == "tag"],
        "converts": [],
    }
    if include_prs:
        out["pullRequests"] = [
            {"name": r.name, "ref": f"refs/pr/{r.name}", "targetCommit": r.commit}
            for r in records
            if r.kind == "pr"
        ]
    return out


def commit_item(c: CommitRecord) -> dict[str, Any]:
    return {
        "id": c.sha,
        "title": c.title,
        "message": c.message,
        "date": hub_date(c.created_at),
        "authors": [{"user": c.author}],
    }
