"""The licence a Hub repo's model card declares on ``main``, read only from what the vault holds.

The dashboard's licence distribution and the policy preview both need it and both must never ask
an upstream: a remote repo's card counts only when its bytes are already cached.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ...ids import CommitSha, Sha256
from ...storage.blobs import BlobStore
from ...storage.meta import MetadataStore
from ...storage.records import HubRepoRecord, RepositoryRecord
from ..governance.policy.licenses import LicenseInfo, license_of_card, unreadable
from .cards import MAX_CARD_BYTES, Card, parse_card
from .mirror import HubMirror

NO_LICENCE = "none"
UNREADABLE_LICENCE = "unreadable"
NOT_CACHED = "not-cached"


@dataclass(frozen=True)
class MainCard:
    commit: CommitSha | None
    """The commit ``main`` points at as the vault knows it (``None``: no ``main``)."""
    licence: LicenseInfo | None
    """``None``: unknown (no ``main``, or a remote card not cached)."""
    label: str
    """The licence key(s) joined by `` OR ``, or :data:`NO_LICENCE`, :data:`UNREADABLE_LICENCE`,
    :data:`NOT_CACHED`."""


class MainCards:
    def __init__(self, meta: MetadataStore, blobs: BlobStore, mirror: HubMirror) -> None:
        self._meta = meta
        self._blobs = blobs
        self._mirror = mirror

    def main_commit(self, record: RepositoryRecord, hub_repo: HubRepoRecord) -> CommitSha | None:
        if record.kind == "hf-remote":
            remote = self._meta.get_remote_ref(hub_repo.id, "main")
            return remote[0] if remote else None
        ref = self._meta.get_ref(hub_repo.id, "branch", "main")
        return ref.commit if ref else None

    async def read(self, record: RepositoryRecord, hub_repo: HubRepoRecord) -> MainCard:
        commit = self.main_commit(record, hub_repo)
        entry = None if commit is None else self._meta.get_file(hub_repo.id, commit, "README.md")
        if entry is None:  # no card: the repo declares no licence, as the judge sees it
            return MainCard(commit, None if commit is None else license_of_card({}), NO_LICENCE)
        if entry.size > MAX_CARD_BYTES:
            return MainCard(
                commit,
                unreadable(f"the model card is larger than {MAX_CARD_BYTES} bytes"),
                UNREADABLE_LICENCE,
            )
        sha = entry.sha256 if record.kind == "hf-local" else self._mirror.cached_blob(entry)
        if sha is None:
            return MainCard(commit, None, NOT_CACHED)
        card = await asyncio.to_thread(self._read_card, sha)
        info = unreadable(card.error) if card.error else license_of_card(card.data)
        if info.error is not None:
            return MainCard(commit, info, UNREADABLE_LICENCE)
        return MainCard(commit, info, " OR ".join(info.licences()) or NO_LICENCE)

    def _read_card(self, sha: Sha256) -> Card:
        with self._blobs.open_reader(sha) as f:
            text = f.read(MAX_CARD_BYTES + 1)
        return parse_card(text.decode("utf-8", "replace"))
