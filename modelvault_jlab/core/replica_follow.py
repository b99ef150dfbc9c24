"""Replica follower: a replica whose client wants a file another replica is transferring from the
upstream streams that replica's *partial file* instead of waiting for it to finish.

Replicas that share one blob folder (one data dir on one host, or a shared filesystem) see each
other's temp files. The replica holding the lease ``fetch:<key>`` *announces* its transfer once
the upstream answered: a small file ``<blobs>/transfers/<digest of the lease name>`` naming its
temp file. A replica that finds the lease taken looks for that announcement (in the same polls
as for the stored result) and, when the named temp file is live (its writer holds the file's
lock, :mod:`..storage.tempfiles`), opens it and serves its clients the bytes as they land, like
the same-process stream-through (:mod:`.streaming`): the first byte within a poll or two.

**The last byte** still goes out only once the holder verified the content, the gate admitted it
and the blob was published: the follower waits for the stored blob (``stored``) and judges it
with the gate itself (``admit``; the verdict is the holder's, stored by sha256) before releasing
it. A holder that dies or fails mid-transfer never completes a follower's response: its temp file
loses its lock, nothing is stored, and the follower cuts its clients off (they retry; the lease
has expired by then, so the retry fetches). A temp file that was renamed into place (published)
also stops being live; the follower then waits for the holder's registration under the lease.

**S3 and other stores** have no shared partial file (a multipart upload is invisible until it is
completed): replicas there keep waiting for the stored blob (docs/deployment.md, "Replicas").
What it would take: the holder also spools to a shared place readers can range-read while it
grows (e.g. an object per N MiB chunk), with the chunk count in the lease row.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import UpstreamUnavailableError
from ..storage.blobs_fs import FsBlobStore, FsBlobWriter
from ..storage.records import BlobInfo
from ..storage.tempfiles import TEMP_PREFIX, is_live
from .leases import Leases, Turn, optional
from .streaming import Admit, Fetch, Flight, Stored, adopt_stored

POLL_SECONDS = 0.02
"""How often a follower looks at the partial file's length (a stat, no database call)."""
_TEMP_NAME = re.compile(rf"{re.escape(TEMP_PREFIX)}[0-9a-f]{{32}}")


class TransferBoard:
    """Announcements of the transfers in progress in one shared blob folder."""

    def __init__(self, store: FsBlobStore) -> None:
        self._tmp = store.tmp_dir
        self._dir = store.root / "transfers"
        self._dir.mkdir(mode=0o700, exist_ok=True)

    def _path(self, lease: str) -> Path:
        return self._dir / hashlib.sha256(lease.encode()).hexdigest()[:40]

    def announce(self, lease: str, partial: Path) -> Callable[[], None]:
        """Name ``partial`` as the file of ``lease``'s transfer; returns the withdrawal."""
        path = self._path(lease)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(partial.name)
        os.replace(tmp, path)  # atomic: a follower never reads half a name

        def withdraw() -> None:
            # Only our own announcement: a later holder of the same lease may have replaced it.
            with contextlib.suppress(OSError):
                if path.read_text() == partial.name:
                    path.unlink()

        return withdraw

    def find(self, lease: str) -> Path | None:
        """The temp file of ``lease``'s transfer while its writer is alive, else None."""
        try:
            name = self._path(lease).read_text()
        except OSError:
            return None
        if not _TEMP_NAME.fullmatch(name):  # only a temp file of this folder, never another path
            return None
        partial = self._tmp / name
        return partial if is_live(partial) else None


class ReplicaFollower:
    """:class:`.streaming.FollowerHook` for replicas on one blob folder."""

    def __init__(self, leases: Leases, board: TransferBoard, poll_seconds: float = POLL_SECONDS):
        self._leases = leases
        self._board = board
        self._poll = poll_seconds

    async def fetch_once(
        self, flight: Flight, fetch: Fetch, stored: Stored, admit: Admit | None
    ) -> BlobInfo:
        """Fetch under the lease; or serve what its holder stored; or follow its partial file."""
        lease = f"fetch:{flight.key}"

        def ready() -> BlobInfo | Path | None:
            return stored() or self._board.find(lease)

        while True:
            # Looks at most 0.1 s apart (not 0.5): a client's first byte waits on the next look.
            turn: Turn[BlobInfo | Path] = await self._leases.follow(lease, ready, max_delay=0.1)
            result = turn.result
            if isinstance(result, Path):
                followed = await self._follow(flight, lease, result, stored, admit)
                if followed is None:  # published or gone before we opened it: look again
                    continue
                return followed
            if result is not None:
                return await adopt_stored(flight, result, admit)
            with optional(turn.lease):
                return await self._fetch(flight, fetch, lease, announce=turn.lease is not None)

    async def _fetch(self, flight: Flight, fetch: Fetch, lease: str, *, announce: bool) -> BlobInfo:
        """Fetch; holding the lease, announce the partial file once the upstream answered
        (followers then start their responses too) and withdraw it at the end."""
        withdraw: list[Callable[[], None]] = []
        ended = False
        writer = flight.writer
        if announce and isinstance(writer, FsBlobWriter):

            def on_started(started: asyncio.Future[None]) -> None:
                # Done-callbacks run a loop turn later: never announce a transfer that ended.
                if not ended and not started.cancelled() and started.exception() is None:
                    withdraw.append(self._board.announce(lease, writer.partial_path))

            flight.started.add_done_callback(on_started)
        try:
            return await fetch(flight)
        finally:
            ended = True
            for undo in withdraw:
                undo()

    async def _follow(
        self, flight: Flight, lease: str, partial: Path, stored: Stored, admit: Admit | None
    ) -> BlobInfo | None:
        """Serve the bytes of ``partial`` as its writer appends them; the last one once the
        holder stored the blob and the gate admitted it. None if ``partial`` is gone already."""
        try:
            fd = os.open(partial, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        # Every reader opens its own description of this very inode, which outlives a rename
        # (publication) or an unlink (abandon) of the name.
        proc_path = f"/proc/self/fd/{fd}"

        def open_partial() -> BinaryIO:
            return open(proc_path, "rb")

        try:
            flight.follow_partial = open_partial
            flight.mark_started()
            while True:
                length = os.fstat(fd).st_size
                if length > flight.written:
                    flight.advance(length)
                complete = flight.size is not None and length >= flight.size
                if complete or not is_live(partial):
                    info = await self._outcome(lease, partial, stored)
                    return await adopt_stored(flight, info, admit)
                await asyncio.sleep(self._poll)
        finally:
            flight.follow_partial = None  # before the descriptor (and its number) goes
            os.close(fd)

    async def _outcome(self, lease: str, partial: Path, stored: Stored) -> BlobInfo:
        """The blob the holder stores once it verified, judged and published what it wrote.

        While its temp file is live the holder is at work (verifying, scanning: no time limit,
        as for its own clients). Once the file is gone (published, or abandoned) the holder
        registers the blob and then releases its lease, or dies and its lease expires: holding
        the lease with nothing stored means the transfer failed.

        Raises:
            UpstreamUnavailableError: the holder stopped without storing the blob.
        """
        while True:
            info = stored()
            if info is not None:
                return info
            if not is_live(partial):
                took = self._leases.try_hold(lease)
                if took is not None:
                    took.release()
                    info = stored()  # stored between our look and the take
                    if info is not None:
                        return info
                    raise UpstreamUnavailableError(
                        "The replica transferring this file stopped before it completed; "
                        "nothing was cached (retry the download)."
                    )
            await asyncio.sleep(self._poll * 5)


__all__ = ["ReplicaFollower", "TransferBoard"]
