"""Listing a commit's files as the Hub's tree API does: folders and files in path order, paged.

Paths sort folder-contiguously ('/' sorts before every character allowed in a name after it is
checked), so a folder's files are one range and a page boundary is just "the last path seen".
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ...errors import EntryNotFoundError, InvalidInputError
from ...ids import validate_repo_path
from ...storage.meta import HubStore
from ...storage.records import FileEntry
from .refs import Resolved

TREE_PAGE_SIZE = 1000
_FAR = "/\U0010ffff"  # sorts after every path inside a folder


@dataclass(frozen=True)
class TreeEntry:
    kind: Literal["file", "directory"]
    path: str
    oid: str
    file: FileEntry | None = None


@dataclass(frozen=True)
class TreePage:
    entries: list[TreeEntry]
    next_cursor: str | None


def list_tree(
    meta: HubStore,
    resolved: Resolved,
    path: str,
    *,
    recursive: bool,
    cursor: str | None = None,
    limit: int = TREE_PAGE_SIZE,
) -> TreePage:
    """One page of the listing of ``path`` (``""`` for the root), in path order."""
    repo_id, sha = resolved.repo.id, resolved.commit.sha
    path = validate_repo_path(path.strip("/"), allow_empty=True)
    if path and not meta.has_folder(repo_id, sha, path):
        raise EntryNotFoundError(
            f"Entry not found: folder {path} in {resolved.repo.repo_id}@{resolved.revision}.",
            commit=sha,
        )
    prefix = f"{path}/" if path else ""
    after = _decode_cursor(cursor)
    limit = min(max(limit, 1), TREE_PAGE_SIZE)
    if recursive:
        return _tree_recursive(meta, resolved, prefix, after, limit)
    return _tree_children(meta, resolved, prefix, after, limit)


def _tree_recursive(
    meta: HubStore, resolved: Resolved, prefix: str, after: str | None, limit: int
) -> TreePage:
    """At most ``limit`` entries, folders included; a next cursor only when more files follow."""
    files = meta.list_files(resolved.repo.id, resolved.commit.sha, prefix, after, limit + 1)
    entries: list[TreeEntry] = []
    previous = after or ""
    emitted = 0
    for f in files:
        # A folder is listed once, just before its first file (paths sort folder-contiguously).
        parts = f.path[len(prefix) :].split("/")[:-1]
        folders = [
            prefix + "/".join(parts[:depth])
            for depth in range(1, len(parts) + 1)
            if not previous.startswith(prefix + "/".join(parts[:depth]) + "/")
        ]
        if entries and len(entries) + len(folders) + 1 > limit:
            break
        entries += [_dir(resolved, folder) for folder in folders]
        entries.append(TreeEntry("file", f.path, f.git_oid, f))
        previous = f.path
        emitted += 1
    more = emitted < len(files)
    return TreePage(entries, _encode_cursor(previous) if more else None)


def _tree_children(
    meta: HubStore, resolved: Resolved, prefix: str, after: str | None, limit: int
) -> TreePage:
    entries: list[TreeEntry] = []
    batch_size = 256
    exhausted = False
    while len(entries) < limit and not exhausted:
        batch = meta.list_files(resolved.repo.id, resolved.commit.sha, prefix, after, batch_size)
        jumped = False
        for f in batch:
            head, sep, _ = f.path[len(prefix) :].partition("/")
            if sep:
                folder = prefix + head
                entries.append(_dir(resolved, folder))
                after = folder + _FAR  # skip the rest of that folder
                jumped = True
                break
            entries.append(TreeEntry("file", f.path, f.git_oid, f))
            after = f.path
            if len(entries) >= limit:
                break
        exhausted = not jumped and len(batch) < batch_size
    more = len(entries) >= limit and not exhausted and after is not None
    return TreePage(entries, _encode_cursor(after) if more and after else None)


def _dir(resolved: Resolved, folder: str) -> TreeEntry:
    oid = hashlib.sha1(
        f"{resolved.commit.sha}:{folder}".encode(), usedforsecurity=False
    ).hexdigest()
    return TreeEntry("directory", folder, oid)


def paths_info(meta: HubStore, resolved: Resolved, paths: Iterable[str]) -> list[TreeEntry]:
    out: list[TreeEntry] = []
    for raw in paths:
        path = validate_repo_path(raw.strip("/"), allow_empty=False)
        entry = meta.get_file(resolved.repo.id, resolved.commit.sha, path)
        if entry is not None:
            out.append(TreeEntry("file", entry.path, entry.git_oid, entry))
        elif meta.has_folder(resolved.repo.id, resolved.commit.sha, path):
            out.append(_dir(resolved, path))
    return out


def _encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("Invalid pagination cursor.") from None
