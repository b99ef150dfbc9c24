"""Which repositories hold a blob, and whether a principal may reuse one by its sha256.

Blobs are content-addressed and stored once for the whole vault, but a sha256 is not a
capability: referencing a stored blob without sending its bytes (an ``lfsFile`` line of a commit,
an LFS batch answered "already present") is allowed only when the principal can read a
repository that holds it — one whose Hub repos have a commit with that file, or into which its
bytes were uploaded. Otherwise the bytes must be uploaded (verified against the sha256 and
deduplicated, so it costs a transfer, not storage).

PyPI files and bundle archives hold no Hub-reusable blobs here: reusing one of their blobs in a
Hub commit means uploading it (conservative, never wrong).
"""

from __future__ import annotations

from ..ids import Sha256
from ..storage.meta import HubStore
from .identity import AccessPolicy, Principal


class BlobHoldings:
    def __init__(self, meta: HubStore, access: AccessPolicy) -> None:
        self._meta = meta
        self._access = access

    def reusable(self, who: Principal, sha256: Sha256) -> bool:
        """True when ``who`` can read some repository holding ``sha256``."""
        if who.is_admin:
            return True
        return any(
            self._access.allows(who, "read", key) for key in self._meta.blob_repositories(sha256)
        )

    def uploaded(self, repository: str, sha256: Sha256) -> None:
        """The bytes of ``sha256`` arrived (verified) through an upload into ``repository``."""
        self._meta.add_repository_blob(repository, sha256)
