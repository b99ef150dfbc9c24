"""Failed authentications: throttled per source address and recorded in the audit log.

A token bucket per address: each failed authentication takes one token; while the bucket is
empty, every authentication from that address is refused with :class:`TooManyRequestsError`
(and a retry delay) before the credential is even looked at, so guessing tokens costs time.
Memory is bounded: at most ``max_sources`` addresses are tracked, the least recently seen one
forgotten first. Failures are audited aggregated: one ``auth.failure`` event per address per
``audit_interval`` seconds, carrying how many failures it stands for, never one row per attempt;
and at most ``max_audit_rows`` such events per interval in all (a flood from many addresses), the
rest counted into one summary event without an address at the next interval.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import TooManyRequestsError
from .audit import AuditLog
from .identity import Principal


@dataclass
class _Bucket:
    tokens: float
    updated: float
    unaudited: int = 0
    audited_at: float = -math.inf


@dataclass(frozen=True)
class ThrottleSettings:
    burst: int = 30
    """Failures an address may have in a row before it is throttled."""
    per_second: float = 0.5
    """Failures forgiven per second (one every two seconds)."""
    max_sources: int = 10_000
    audit_interval: float = 60.0
    max_audit_rows: int = 100


class AuthThrottle:
    def __init__(
        self,
        audit: AuditLog,
        settings: ThrottleSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audit = audit
        self.settings = settings or ThrottleSettings()
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._window = -math.inf
        self._window_rows = 0
        self._suppressed = 0

    def _bucket(self, source: str, now: float) -> _Bucket:
        s = self.settings
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = _Bucket(float(s.burst), now)
            self._buckets[source] = bucket
            while len(self._buckets) > s.max_sources:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
            bucket.tokens = min(
                float(s.burst), bucket.tokens + (now - bucket.updated) * s.per_second
            )
            bucket.updated = now
        return bucket

    def check(self, source: str) -> None:
        """Raises TooManyRequestsError while ``source`` is throttled."""
        with self._lock:
            bucket = self._buckets.get(source)
            if bucket is None:
                return
            bucket = self._bucket(source, self._clock())
            if bucket.tokens >= 1:
                return
            wait = math.ceil((1 - bucket.tokens) / self.settings.per_second)
        raise TooManyRequestsError(
            "Too many failed authentications from this address: retry later.",
            retry_after=max(1, wait),
        )

    def failed(self, source: str, reason: str) -> None:
        """Count one failed authentication from ``source``; audit it aggregated."""
        now = self._clock()
        with self._lock:
            bucket = self._bucket(source, now)
            bucket.tokens = max(0.0, bucket.tokens - 1)
            bucket.unaudited += 1
            if now - bucket.audited_at < self.settings.audit_interval:
                return
            count, bucket.unaudited, bucket.audited_at = bucket.unaudited, 0, now
            summary = 0
            if now - self._window >= self.settings.audit_interval:
                summary, self._suppressed = self._suppressed, 0
                self._window, self._window_rows = now, 0
            if self._window_rows >= self.settings.max_audit_rows:
                self._suppressed += count
                return
            self._window_rows += 1
        if summary:
            self._audit.record(
                _anonymous(None), "auth.failure", failures=summary, reason="from many addresses"
            )
        self._audit.record(_anonymous(source), "auth.failure", failures=count, reason=reason[:200])


def _anonymous(source: str | None) -> Principal:
    return Principal(name="anonymous", scope=None, kind="anonymous", remote_addr=source)
