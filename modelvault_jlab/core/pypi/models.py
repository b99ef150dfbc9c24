"""What the PyPI service hands to adapters: index pages and file sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from ...storage.records import BlobInfo
from ..streaming import ContentStream


@dataclass(frozen=True)
class DistFile:
    """One file of a project page, independent of the wire format."""

    filename: str
    sha256: str
    size: int | None
    requires_python: str | None = None
    yanked: str | None = None
    """``None``: not yanked; a string (maybe empty): yanked with that reason."""
    upload_time: float | None = None
    metadata_sha256: str | None = None
    """Advertise PEP 658 metadata with this hash (``None``: not available)."""
    version: str | None = None
    repository: str = ""
    """The repository that serves the bytes (a member, for virtual repositories)."""


@dataclass(frozen=True)
class ProjectPage:
    name: str
    """Normalized project name."""
    files: tuple[DistFile, ...]
    notice: str | None = None
    """Set when the page is not fresh from the upstream (stale or offline): why."""

    @property
    def versions(self) -> list[str]:
        return sorted({f.version for f in self.files if f.version})


CacheState = Literal["local", "hit", "miss"]


@dataclass
class FileSource:
    """A distribution ready to be sent: a stored blob, or a stream-through of a cold fetch.

    Exactly one of ``blob`` and ``chunks`` is set. ``chunks`` raises a VaultError if the transfer
    fails or the content does not match the upstream hash; the adapter must then abort the
    connection so that the client never keeps a truncated or wrong file.
    """

    filename: str
    sha256: str
    size: int | None
    blob: BlobInfo | None = None
    chunks: AsyncIterator[bytes] | None = None
    stream: ContentStream | None = None
    """With ``chunks``: the same bytes, for a sender that can hand a growing file to the kernel
    (``sendfile``); use one of the two."""
    cache: CacheState = "local"
    notice: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
