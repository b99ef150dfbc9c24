"""Long operations in progress in this process, for the sidebar's live "Activity" view.

Two sources: cold upstream transfers, read from the stream-through's flights when listed (they
already count their bytes), and operations that register themselves here while they run (bundle
exports). An operation that fails stays listed for ``keep_failed_seconds`` with its message, so a
poller that was not watching at the moment of failure still learns about it.

Visibility: an operation tied to repositories is shown to whoever may read one of them; one that
is not (a bundle export) to whoever may read the vault as a whole (what reading bundles needs).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import AuthenticationError, PermissionDeniedError, VaultError
from .identity import AccessPolicy, Principal
from .streaming import Flight, StreamThrough

Kind = Literal["transfer", "export"]
State = Literal["running", "verifying", "failed"]
Target = tuple[str | None, str]


@dataclass(frozen=True)
class Operation:
    """A snapshot of one operation."""

    id: str
    kind: Kind
    targets: tuple[Target, ...]
    """What it concerns: (repository, subject) pairs. A transfer serves every repository that
    joined it; repository None: vault-wide (seeing it needs global read)."""
    bytes_done: int
    total: int | None
    started_at: float
    state: State = "running"
    message: str | None = None
    """Why it failed (``state == "failed"``)."""

    def to_json(self, target: Target) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "repository": target[0],
            "subject": target[1],
            "bytes_done": self.bytes_done,
            "total": self.total,
            "started_at": self.started_at,
            "state": self.state,
            "message": self.message,
        }


@dataclass
class Progress:
    """Handle of a registered operation: the running code advances it."""

    bytes_done: int = 0
    total: int | None = None
    failure: str | None = None
    """Set by the running code when it ends without an exception but did not complete."""

    def counting(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks``, advancing ``bytes_done`` as each one is consumed."""
        for chunk in chunks:
            yield chunk
            self.bytes_done += len(chunk)

    def fail(self, message: str) -> None:
        self.failure = message


@dataclass
class _Running:
    op: Operation
    progress: Progress = field(default_factory=Progress)


class Activity:
    """The registry. Single-threaded use from the event loop (or the thread that owns it)."""

    def __init__(
        self,
        access: AccessPolicy,
        streams: StreamThrough,
        clock: Callable[[], float] = time.time,
        keep_failed_seconds: float = 120.0,
    ) -> None:
        self._access = access
        self._streams = streams
        self._clock = clock
        self._keep = keep_failed_seconds
        self._ids = itertools.count(1)
        self._running: dict[str, _Running] = {}
        self._failed: list[tuple[float, Operation]] = []  # (failed at, snapshot)
        streams.on_finish.append(self._flight_finished)

    @contextmanager
    def track(
        self, kind: Kind, targets: tuple[Target, ...], total: int | None = None
    ) -> Iterator[Progress]:
        """Register an operation for the duration of the block; an exception leaving the block
        (VaultError: its message) marks it failed."""
        op = Operation(f"{kind}-{next(self._ids)}", kind, targets, 0, total, self._clock())
        running = _Running(op, Progress(total=total))
        self._running[op.id] = running
        try:
            yield running.progress
        except BaseException as exc:
            self._fail(self._snapshot(running), _message(exc))
            raise
        else:
            if running.progress.failure is not None:
                self._fail(self._snapshot(running), running.progress.failure)
        finally:
            self._running.pop(op.id, None)

    def list(self, who: Principal) -> list[tuple[Operation, Target]]:
        """Operations ``who`` may see, oldest first, each with the target it is shown under."""
        self._prune()
        ops = [_flight_op(f) for f in self._streams.snapshot()]
        ops += [self._snapshot(r) for r in self._running.values()]
        ops += [op for _, op in self._failed]
        visible = []
        for op in sorted(ops, key=lambda o: o.started_at):
            shown = self._visible_target(who, op)
            if shown is not None:
                visible.append((op, shown))
        return visible

    def _visible_target(self, who: Principal, op: Operation) -> Target | None:
        """The first target of ``op`` that ``who`` may read (None: hidden from them)."""
        for target in op.targets:
            try:
                self._access.require(who, "read", target[0])
            except (AuthenticationError, PermissionDeniedError):
                continue
            return target
        return None

    def _snapshot(self, running: _Running) -> Operation:
        p = running.progress
        return replace(running.op, bytes_done=p.bytes_done, total=p.total)

    def _fail(self, op: Operation, message: str) -> None:
        self._prune()  # also here: a server nobody polls must not accumulate failures
        self._failed.append((self._clock(), replace(op, state="failed", message=message)))

    def _prune(self) -> None:
        now = self._clock()
        self._failed = [(t, op) for t, op in self._failed if now - t < self._keep]

    def _flight_finished(self, flight: Flight) -> None:
        if flight.error is not None:
            self._fail(_flight_op(flight), flight.error.message)


def _flight_op(flight: Flight) -> Operation:
    complete = flight.size is not None and flight.written >= flight.size
    # Every byte arrived but the content is still being verified and scanned.
    state: State = "verifying" if complete and flight.verified is None else "running"
    # A flight nobody labelled (no subject passed to join) is shown vault-wide by its key.
    targets: tuple[Target, ...] = tuple(flight.subjects) or ((None, flight.key),)
    return Operation(
        f"transfer-{flight.key[:20]}-{int(flight.started_at * 1000)}",
        "transfer",
        targets,
        flight.written,
        flight.size,
        flight.started_at,
        state,
    )


def _message(exc: BaseException) -> str:
    if isinstance(exc, VaultError):
        return exc.message
    return f"Interrupted ({type(exc).__name__})."


__all__ = ["Activity", "Operation", "Progress"]
