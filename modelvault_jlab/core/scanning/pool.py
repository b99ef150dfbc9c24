"""The scan pool: scans run on a few threads of their own, never on the threads commits use.

A scan is CPU- and IO-heavy and hostile input makes it as slow as its budget allows; run on the
shared default executor, a burst of uploads starved every other ``to_thread`` call of the server.
Here at most ``workers`` scans run at once and at most ``queue`` more wait; further callers block
until a slot frees. Callers on the event loop wait on threads of this pool's own too
(:meth:`ScanPool.call`), so a burst of scans never holds the default executor's threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_WORKERS = 2
DEFAULT_QUEUE = 8
#: Threads that only wait (for a scan slot, a lease or another thread's scan of the same blob).
CALLER_THREADS = 32


class ScanPool:
    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan")
        self._slots = threading.BoundedSemaphore(workers + queue)
        self._callers = ThreadPoolExecutor(
            max_workers=CALLER_THREADS, thread_name_prefix="scan-caller"
        )

    def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on a scan thread and wait for its result (or exception)."""
        with self._slots:
            return self._executor.submit(fn, *args, **kwargs).result()

    def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn`` (which waits on this pool) on a caller thread of the pool's own."""
        return self._callers.submit(fn, *args, **kwargs)


_shared: ScanPool | None = None
_shared_guard = threading.Lock()


def shared_pool() -> ScanPool:
    """The process-wide pool: the bound holds for every gate of the process together."""
    global _shared
    with _shared_guard:
        if _shared is None:
            _shared = ScanPool()
        return _shared
