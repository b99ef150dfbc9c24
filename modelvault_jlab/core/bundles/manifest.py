"""The bundle manifest: every component pinned by content, serialised as canonical JSON.

Canonical JSON (sorted keys, no whitespace, UTF-8) is what is signed and what the bundle digest
(sha256) names, so two vaults that hold the same manifest agree on its bytes. ``from_dict`` is the
only way a manifest enters from outside (an archive, a request): it validates every field, so a
path, name or digest in a manifest can never be read as a filesystem path or a query.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ...errors import InvalidInputError
from ...ids import (
    is_commit_sha,
    is_sha256,
    validate_repo_id,
    validate_repo_path,
    validate_repo_type,
    validate_repository_key,
)
from ..pypi.names import validate_filename

SCHEMA = "modelvault.bundle/v1"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are hashed and signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def validate_bundle_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInputError(
            f"Invalid bundle name {str(name)[:80]!r}: lowercase letters, digits, '.', '_', '-'."
        )
    return name


def validate_bundle_version(version: str) -> str:
    if not isinstance(version, str) or not _VERSION_RE.match(version) or ".." in version:
        raise InvalidInputError(
            f"Invalid bundle version {str(version)[:80]!r}: letters, digits, '.', '_', '-'."
        )
    return version


def validate_file_name(name: str) -> str:
    """A generic file's name: one safe segment (never a path)."""
    if not isinstance(name, str) or not _FILE_RE.match(name) or ".." in name:
        raise InvalidInputError(
            f"Invalid file name {str(name)[:80]!r}: letters, digits, '.', '_', '-' (no path)."
        )
    return name


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_sha256(value):
        raise InvalidInputError(f"{what}: expected a sha256 (64 lowercase hex digits).")
    return value


def _size(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(f"{what}: expected a non-negative integer size.")
    return value


def _str(value: Any, what: str, max_len: int = 1000) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidInputError(f"{what}: expected a string of at most {max_len} characters.")
    return value


@dataclass(frozen=True)
class PinnedFile:
    """A file of a Hub commit, as the Hub protocol shows it (git oid, LFS flag) and by content."""

    path: str
    sha256: str
    size: int
    git_oid: str
    lfs: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "git_oid": self.git_oid,
            "lfs": self.lfs,
        }

    @classmethod
    def from_dict(cls, d: Any) -> PinnedFile:
        if not isinstance(d, dict):
            raise InvalidInputError("A file entry must be an object.")
        oid = _str(d.get("git_oid"), "git_oid", 40)
        if not re.fullmatch(r"[0-9a-f]{40}", oid):
            raise InvalidInputError("git_oid: expected 40 hex digits.")
        return cls(
            path=validate_repo_path(_str(d.get("path"), "path")),
            sha256=_sha(d.get("sha256"), "sha256"),
            size=_size(d.get("size"), "size"),
            git_oid=oid,
            lfs=bool(d.get("lfs")),
        )


@dataclass(frozen=True)
class HubComponent:
    """A Hub model or dataset repo at a full commit id, with every file of that commit."""

    repository: str
    repo_type: str
    repo_id: str
    commit: str
    title: str
    author: str
    committed_at: float
    files: tuple[PinnedFile, ...]
    card: dict[str, Any] = field(default_factory=dict)
    kind: Literal["hub"] = "hub"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "hub",
            "repository": self.repository,
            "repo_type": self.repo_type,
            "repo_id": self.repo_id,
            "commit": self.commit,
            "title": self.title,
            "author": self.author,
            "committed_at": self.committed_at,
            "files": [f.to_dict() for f in self.files],
            "card": self.card,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HubComponent:
        commit = _str(d.get("commit"), "commit", 40)
        if not is_commit_sha(commit):
            raise InvalidInputError("commit: expected a full 40-hex commit id.")
        files = d.get("files")
        if not isinstance(files, list):
            raise InvalidInputError("A hub component lists its 'files'.")
        card = d.get("card") or {}
        if not isinstance(card, dict):
            raise InvalidInputError("card: expected an object.")
        at = d.get("committed_at", 0)
        if not isinstance(at, int | float):
            raise InvalidInputError("committed_at: expected a number.")
        pinned = tuple(PinnedFile.from_dict(f) for f in files)
        if len({f.path for f in pinned}) != len(pinned):
            raise InvalidInputError("A hub component lists a path twice.")
        return cls(
            repository=validate_repository_key(_str(d.get("repository"), "repository")),
            repo_type=validate_repo_type(_str(d.get("repo_type"), "repo_type")),
            repo_id=validate_repo_id(_str(d.get("repo_id"), "repo_id")),
            commit=commit,
            title=_str(d.get("title", ""), "title"),
            author=_str(d.get("author", ""), "author"),
            committed_at=float(at),
            files=pinned,
            card=card,
        )


@dataclass(frozen=True)
class PackageComponent:
    """One Python distribution file, with its core metadata blob (PEP 658) when there is one."""

    repository: str
    project: str
    display_name: str
    version: str
    filename: str
    sha256: str
    size: int
    requires_python: str | None
    metadata_sha256: str | None
    metadata_size: int | None
    kind: Literal["package"] = "package"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "package",
            "repository": self.repository,
            "name": self.project,
            "display_name": self.display_name,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "requires_python": self.requires_python,
            "metadata_sha256": self.metadata_sha256,
            "metadata_size": self.metadata_size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PackageComponent:
        meta = d.get("metadata_sha256")
        rp = d.get("requires_python")
        return cls(
            repository=validate_repository_key(_str(d.get("repository"), "repository")),
            project=_str(d.get("name"), "name", 200),
            display_name=_str(d.get("display_name", ""), "display_name", 200),
            version=_str(d.get("version"), "version", 100),
            filename=validate_filename(_str(d.get("filename"), "filename", 300)),
            sha256=_sha(d.get("sha256"), "sha256"),
            size=_size(d.get("size"), "size"),
            requires_python=None if rp is None else _str(rp, "requires_python", 200),
            metadata_sha256=None if meta is None else _sha(meta, "metadata_sha256"),
            metadata_size=None if meta is None else _size(d.get("metadata_size"), "metadata_size"),
        )


@dataclass(frozen=True)
class FileComponent:
    """A generic file uploaded to the vault, pinned by content."""

    name: str
    sha256: str
    size: int
    kind: Literal["file"] = "file"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "file", "name": self.name, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileComponent:
        return cls(
            name=validate_file_name(_str(d.get("name"), "name", 200)),
            sha256=_sha(d.get("sha256"), "sha256"),
            size=_size(d.get("size"), "size"),
        )


Component = HubComponent | PackageComponent | FileComponent
_KINDS: dict[str, Any] = {"hub": HubComponent, "package": PackageComponent, "file": FileComponent}


@dataclass(frozen=True)
class BundleManifest:
    name: str
    version: str
    created_by: str
    created_at: float
    components: tuple[Component, ...]
    description: str = ""

    @property
    def sources(self) -> list[str]:
        """The repositories the components came from."""
        return sorted({c.repository for c in self.components if not isinstance(c, FileComponent)})

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "sources": self.sources,
            "components": [c.to_dict() for c in self.components],
        }

    def canonical(self) -> bytes:
        return canonical_json(self.to_dict())

    @property
    def digest(self) -> str:
        """sha256 of the canonical manifest: the bundle's identity across vaults."""
        return hashlib.sha256(self.canonical()).hexdigest()

    def blobs(self) -> dict[str, int]:
        """Every blob the bundle pins (file contents and package metadata) with its size."""
        out: dict[str, int] = {}
        for c in self.components:
            if isinstance(c, HubComponent):
                for f in c.files:
                    out[f.sha256] = f.size
            elif isinstance(c, PackageComponent):
                out[c.sha256] = c.size
                if c.metadata_sha256 is not None and c.metadata_size is not None:
                    out[c.metadata_sha256] = c.metadata_size
            else:
                out[c.sha256] = c.size
        return out

    @classmethod
    def from_dict(cls, d: Any) -> BundleManifest:
        """Validate a manifest from outside. Raises InvalidInputError."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise InvalidInputError(f"Not a bundle manifest (expected schema {SCHEMA}).")
        raw = d.get("components")
        if not isinstance(raw, list):
            raise InvalidInputError("A manifest lists its 'components'.")
        comps: list[Component] = []
        for item in raw:
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind not in _KINDS:
                raise InvalidInputError(f"Unknown component kind {str(kind)[:40]!r}.")
            comps.append(_KINDS[kind].from_dict(item))
        at = d.get("created_at")
        if not isinstance(at, int | float):
            raise InvalidInputError("created_at: expected a number.")
        manifest = cls(
            name=validate_bundle_name(d.get("name", "")),
            version=validate_bundle_version(d.get("version", "")),
            created_by=_str(d.get("created_by"), "created_by", 200),
            created_at=at,
            components=tuple(comps),
            description=_str(d.get("description", ""), "description", 4000),
        )
        if manifest.to_dict() != d:
            raise InvalidInputError("The manifest has unknown or non-canonical fields.")
        return manifest
