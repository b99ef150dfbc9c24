"""Bundle records: sealed manifests, their promotions, blob pins and generic files.

A bundle row is written once with its pins in the same transaction and never updated; the only
thing that grows is its list of promotion records, each appended with a sequence number so two
concurrent promotions of one bundle cannot both win.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BundleRecord:
    id: int
    name: str
    version: str
    digest: str
    """sha256 of the canonical manifest."""
    manifest: bytes
    """The canonical manifest bytes, exactly as signed."""
    signature: str
    """JSON of the signature over ``manifest``."""
    created_by: str
    created_at: float
    origin: str
    """``local`` (created here) or ``import`` (verified from an archive)."""


@dataclass(frozen=True)
class PromotionRecord:
    bundle_id: int
    seq: int
    environment: str
    payload: bytes
    """Canonical JSON of the promotion (bundle digest, from, to, who, when, previous)."""
    signature: str


@dataclass(frozen=True)
class GenericFileRecord:
    name: str
    sha256: str
    size: int
    created_by: str
    created_at: float


class BundleStore(ABC):
    """Every method is atomic; implementations must be thread-safe."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def create_bundle(
        self,
        record: BundleRecord,
        pins: Sequence[str],
        promotions: Sequence[PromotionRecord] = (),
    ) -> BundleRecord:
        """Insert the bundle, pin its blobs and add its promotions, all or nothing.

        Raises ConflictError when ``(name, version)`` is taken.
        """

    @abstractmethod
    def get_bundle(self, name: str, version: str) -> BundleRecord | None: ...

    @abstractmethod
    def list_bundles(self, name: str | None = None) -> list[BundleRecord]:
        """Newest first."""

    @abstractmethod
    def add_promotion(self, record: PromotionRecord) -> None:
        """Append a promotion; raises WriteConflictError if ``record.seq`` is taken."""

    @abstractmethod
    def list_promotions(self, bundle_id: int) -> list[PromotionRecord]:
        """In sequence order."""

    @abstractmethod
    def is_pinned(self, sha256: str) -> bool:
        """True while any bundle references the blob (it must then never be deleted)."""

    @abstractmethod
    def put_file(self, record: GenericFileRecord) -> None:
        """Create or repoint a generic file name (bundles pin content, not names)."""

    @abstractmethod
    def get_file(self, name: str) -> GenericFileRecord | None: ...

    @abstractmethod
    def list_files(self) -> list[GenericFileRecord]: ...
