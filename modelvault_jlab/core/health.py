"""Liveness and readiness of a vault, for load balancers and orchestrators.

*Live* means the process answers (the event loop turns); *ready* means it can serve: the metadata
database answers a query and the blob store answers a lookup and accepts a writer. Each check
runs in a worker thread with a deadline, so a hung database makes the probe fail in time instead
of hanging the probe too. Failures name the part (``database``, ``blob_store``) and the error's
type only: the probe is unauthenticated, so no message text (paths, hosts) leaves the server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..ids import Sha256
from ..storage.blobs import BlobStore
from ..storage.meta import MetadataStore

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0
EMPTY_SHA256 = Sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


@dataclass(frozen=True)
class Check:
    """The outcome of one part's check."""

    part: str
    ok: bool
    seconds: float
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "part": self.part,
            "ok": self.ok,
            "seconds": round(self.seconds, 4),
            "error": self.error,
        }


def _database(meta: MetadataStore) -> None:
    meta.get_setting("policy_epoch")  # one indexed read: the connection and the schema work


def _blob_store(blobs: BlobStore) -> None:
    blobs.exists(EMPTY_SHA256)  # a stat on a folder, a HEAD on a bucket
    blobs.open_writer().abort()  # its temp area (spool, tmp folder) takes a file


async def _run(part: str, probe: Callable[[], None], timeout: float) -> Check:
    began = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.to_thread(probe), timeout)
    except TimeoutError:
        return Check(part, False, time.perf_counter() - began, f"no answer within {timeout:g}s")
    except Exception as exc:
        log.warning("Readiness check of the %s failed: %s", part, exc)
        return Check(part, False, time.perf_counter() - began, type(exc).__name__)
    return Check(part, True, time.perf_counter() - began)


async def readiness(
    meta: MetadataStore, blobs: BlobStore, timeout: float = CHECK_TIMEOUT_SECONDS
) -> list[Check]:
    """Check the database and the blob store concurrently."""
    return list(
        await asyncio.gather(
            _run("database", lambda: _database(meta), timeout),
            _run("blob_store", lambda: _blob_store(blobs), timeout),
        )
    )
