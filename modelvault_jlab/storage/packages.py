"""Package index records: what the PyPI side stores besides blobs.

Three kinds of state, per repository:

* **files** of pypi-local repositories (uploads) and of pypi-remote repositories (files that were
  fetched from the upstream and verified — the cache; kept forever);
* **remote pages**: the last upstream answer for a project (its links, ``ETag`` and when it was
  fetched), or the fact that the upstream said 404 (the negative cache);
* the **links** of a remote page, indexed by ``(sha256, filename)`` so that a file URL resolves to
  its upstream location with one lookup.

Bytes (distributions, core metadata) live in the :class:`~.blobs.BlobStore`; records only name them
by sha256.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

FileOrigin = Literal["upload", "cache"]


@dataclass(frozen=True)
class PackageFileRecord:
    """A distribution file held by a repository (uploaded, or cached from its upstream)."""

    repository: str
    project: str
    """Normalized (PEP 503) project name."""
    filename: str
    version: str
    sha256: str
    size: int
    requires_python: str | None
    yanked: str | None
    """``None``: not yanked; otherwise the reason (may be empty)."""
    upload_time: float
    metadata_sha256: str | None
    """sha256 of the stored core metadata (PEP 658) when it may be advertised."""
    uploaded_by: str
    origin: FileOrigin
    display_name: str = ""


@dataclass(frozen=True)
class RemoteLinkRecord:
    """One file link of an upstream project page, as the upstream described it."""

    filename: str
    sha256: str
    url: str
    """Absolute upstream URL of the file (never shown to clients)."""
    size: int | None = None
    requires_python: str | None = None
    yanked: str | None = None
    upload_time: float | None = None
    metadata_sha256: str | None = None
    """The upstream's ``core-metadata`` sha256, when it advertised one."""


@dataclass(frozen=True)
class RemotePageRecord:
    """The cached upstream answer for one project of a pypi-remote repository."""

    repository: str
    project: str
    status: int
    """200 (links below) or 404 (negative cache entry)."""
    fetched_at: float
    etag: str | None = None
    links: tuple[RemoteLinkRecord, ...] = ()


class PackageStore(ABC):
    """Package records. Every method is atomic; implementations must be thread-safe."""

    @abstractmethod
    def close(self) -> None: ...

    # -- files --
    @abstractmethod
    def add_file(self, record: PackageFileRecord) -> tuple[PackageFileRecord, bool]:
        """Insert ``record`` unless ``(repository, filename)`` exists.

        Returns the record in force and whether it was created. The caller compares hashes to tell
        an idempotent re-upload from a conflicting one; the first writer always wins.
        """

    @abstractmethod
    def get_file(self, repository: str, filename: str) -> PackageFileRecord | None: ...

    @abstractmethod
    def list_files(self, repository: str, project: str) -> list[PackageFileRecord]:
        """Files of one project, by filename."""

    @abstractmethod
    def list_projects(self, repository: str) -> list[str]:
        """Normalized names of projects with files or a cached (200) remote page, sorted."""

    @abstractmethod
    def has_project(self, repository: str, project: str) -> bool:
        """True when the repository holds at least one file of the project."""

    # -- remote pages --
    @abstractmethod
    def put_remote_page(self, page: RemotePageRecord) -> None:
        """Replace the cached page of ``(page.repository, page.project)`` and its links."""

    @abstractmethod
    def get_remote_page(self, repository: str, project: str) -> RemotePageRecord | None: ...

    @abstractmethod
    def touch_remote_page(self, repository: str, project: str, fetched_at: float) -> None:
        """Mark a cached page as revalidated (the upstream answered 304)."""

    @abstractmethod
    def find_remote_link(
        self, repository: str, sha256: str, filename: str
    ) -> tuple[str, RemoteLinkRecord] | None:
        """``(project, link)`` of the cached link with this hash and filename, if any."""
