"""Removing stored blobs while writers of the same content may run: the protocol garbage
collection (:mod:`.gc`) and cache eviction (:mod:`.cache_quota`) share.

For a batch of blobs: (1) set each aside (out of its address, :mod:`..storage.blob_trash`),
(2) unregister the ones still unneeded in one transaction whose statements each re-check the
blob (``forget``), (3) delete what was unregistered from the trash and put the rest back. A writer
that registers a blob before (2) makes its re-check fail and gets the bytes back in (3); one
that registers after (2) finds the bytes gone (set aside in (1)) and fails its upload cleanly
(:meth:`.content.ContentStore.reuse`), for its client to retry. No interleaving leaves a
registered blob without its bytes. A remover killed between (1) and (3) leaves the blob in the
trash; :meth:`BlobRemover.recover` puts back what is registered and deletes the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ids import is_sha256
from ..storage.blob_trash import BlobTrash
from ..storage.blobs import BlobStore
from ..storage.trash_of import trash_for


class BlobRemover:
    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self._trash: BlobTrash | None = None

    def trash(self) -> BlobTrash:
        """Raises InvalidInputError: a blob store that does not support removal."""
        if self._trash is None:
            self._trash = trash_for(self._blobs)
        return self._trash

    def remove(
        self,
        shas: Sequence[str],
        forget: Callable[[Sequence[str]], Sequence[str]],
        between: Callable[[str], None] = lambda sha: None,
    ) -> set[str]:
        """Remove the blobs ``forget`` unregisters (it re-checks each and returns those it
        removed from the database); returns them. ``between`` runs for each blob after it was
        set aside and before ``forget`` (tests interleave a writer there)."""
        trash = self.trash()
        aside = trash.set_aside(shas)
        for sha in shas:
            between(sha)
        forgotten = set(forget(shas))
        trash.discard([token for sha, token in aside.items() if sha in forgotten])
        trash.put_back([(sha, token) for sha, token in aside.items() if sha not in forgotten])
        return forgotten

    def recover(self, is_registered: Callable[[str], bool]) -> int:
        """What a killed remover left set aside: back if registered, else deleted. Returns how
        many were put back."""
        trash = self.trash()
        back: list[tuple[str, str]] = []
        drop: list[str] = []
        for sha, token in trash.leftovers():
            if is_sha256(sha) and is_registered(sha):
                back.append((sha, token))
            else:
                drop.append(token)
        trash.put_back(back)
        trash.discard(drop)
        return len(back)


__all__ = ["BlobRemover"]
