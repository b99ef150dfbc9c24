"""Leases: coordination between replicas that share one metadata store.

Several ``modelvault serve`` processes on one database act as one vault. Work that must happen
once — an upstream transfer of one file, the scan of one large blob, a background job — runs
under a *lease*: a named row in the metadata store with a holder and an expiry. The holder
renews it while the work runs (a daemon thread, so a busy event loop or a long blocking scan
cannot let it lapse); a holder that dies stops renewing, and the lease expires so another replica
takes over.

A replica that finds the lease taken *follows*: it polls, with backoff, for the result the holder
will store (a published blob, a stored verdict), and takes the lease itself once the holder is gone.
Followers give up waiting after ``wait_seconds`` and do the work themselves: a client's read
timeout (huggingface_hub 10 s, pip 15 s) must never expire while a replica waits on another.

In-process single flight (:mod:`.streaming`, page flights) stays in front of this: N requests in
one replica cost one lease, not N.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from ..storage.meta import LeaseStore
from .observer import NO_OBSERVER, Observer

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TTL_SECONDS = 6.0
DEFAULT_WAIT_SECONDS = 7.0
"""Below huggingface_hub's 10 s read timeout: a follower must answer before its client gives up."""


class Lease:
    """A lease this process holds, renewed every third of its TTL until released."""

    def __init__(self, leases: Leases, name: str) -> None:
        self.name = name
        self._leases = leases
        self.lost = threading.Event()
        """Set when a renewal found the lease gone (expired and taken): stop the guarded work."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease:{name}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        leases = self._leases
        while not self._stop.wait(leases.ttl_seconds / 3):
            try:
                held = leases.meta.renew_lease(self.name, leases.holder, leases.ttl_seconds)
            except Exception:  # a database hiccup: try again at the next tick, the TTL has slack
                log.warning("Could not renew lease %s", self.name, exc_info=True)
                continue
            if not held:
                log.warning("Lost lease %s: another replica took over", self.name)
                self.lost.set()
                return

    def release(self) -> None:
        """Stop renewing and give the lease up (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        try:
            self._leases.meta.release_lease(self.name, self._leases.holder)
        except Exception:  # it expires by itself
            log.warning("Could not release lease %s", self.name, exc_info=True)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@dataclass(frozen=True)
class Turn(Generic[T]):
    """What following a lease came to: the result another holder stored, the lease itself, or
    neither within the wait (then the caller does the work without the lease)."""

    result: T | None = None
    lease: Lease | None = None


class Leases:
    """This process's side of the lease table."""

    observer: Observer = NO_OBSERVER

    def __init__(
        self,
        meta: LeaseStore,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        holder: str | None = None,
    ) -> None:
        self.meta = meta
        self.ttl_seconds = ttl_seconds
        self.wait_seconds = wait_seconds
        # Unique per process (a restarted replica with a recycled pid is a new holder).
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def try_hold(self, name: str) -> Lease | None:
        """The lease, renewed from now on; None if another live holder has it."""
        if not self.meta.acquire_lease(name, self.holder, self.ttl_seconds):
            return None
        return Lease(self, name)

    def _turns(
        self, name: str, ready: Callable[[], T | None], max_delay: float = 0.5
    ) -> Generator[float, None, Turn[T]]:
        """The follow loop once, for both drivers: yields how long to sleep between looks."""
        began = time.monotonic()
        deadline = began + self.wait_seconds
        delay = 0.02
        waited = False

        def waited_for(outcome: str) -> None:
            if waited:  # a lease taken or a result found at first look is no wait
                self.observer.lease_waited(name, time.monotonic() - began, outcome)

        while True:
            result = ready()
            if result is not None:
                waited_for("result")
                return Turn(result=result)
            lease = self.try_hold(name)
            if lease is not None:
                # The previous holder may have finished between our look and our acquire.
                result = ready()
                if result is not None:
                    lease.release()
                    waited_for("result")
                    return Turn(result=result)
                waited_for("took_over")
                return Turn(lease=lease)
            if time.monotonic() >= deadline:
                log.warning(
                    "Waited %.1fs for another replica's %s; doing it here too",
                    self.wait_seconds,
                    name,
                )
                waited_for("timed_out")
                return Turn()
            waited = True
            yield delay
            delay = min(delay * 2, max_delay)

    async def follow(
        self, name: str, ready: Callable[[], T | None], max_delay: float = 0.5
    ) -> Turn[T]:
        """Take the lease ``name`` or wait (asynchronously) for ``ready`` to return the result
        its holder produces. ``ready`` must be quick (one or two lookups). ``max_delay`` caps
        the backoff between looks (a follower that can start streaming looks more often)."""
        turns = self._turns(name, ready, max_delay)
        try:
            while True:
                await asyncio.sleep(next(turns))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def follow_blocking(self, name: str, ready: Callable[[], T | None]) -> Turn[T]:
        """:meth:`follow` for worker threads (scans)."""
        turns = self._turns(name, ready)
        try:
            while True:
                time.sleep(next(turns))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


@contextlib.contextmanager
def optional(lease: Lease | None) -> Generator[None, None, None]:
    """Release ``lease`` (if any) when the block ends."""
    try:
        yield
    finally:
        if lease is not None:
            lease.release()


__all__ = ["Lease", "Leases", "Turn", "optional"]
