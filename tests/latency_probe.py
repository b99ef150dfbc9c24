"""A latency probe: a background thread that sends a cheap request every ``interval`` seconds
while a test does something hostile, to show that the server's event loop was never stalled.

    with latency_probe(server.api("info"), server.headers()) as probe:
        ...  # hostile requests
    assert probe.max < 1.0, probe.summary()

A stalled event loop shows as one probe request that waits as long as the stall; a server that
stays responsive answers every probe in a few milliseconds. The probe keeps one connection open
(keep-alive), so connection setup is not measured.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx


@dataclass
class ProbeResult:
    latencies: list[float] = field(default_factory=list)
    """Seconds each probe request took, in order."""
    failures: list[str] = field(default_factory=list)
    """Probe requests that failed or answered >= 500 (what went wrong)."""

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def max(self) -> float:
        return max(self.latencies, default=0.0)

    @property
    def p99(self) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def summary(self) -> str:
        return (
            f"{self.count} probes, max {self.max * 1000:.1f} ms, p99 {self.p99 * 1000:.1f} ms, "
            f"{len(self.failures)} failed {self.failures[:3]}"
        )


@contextlib.contextmanager
def latency_probe(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    interval: float = 0.05,
    timeout: float = 120.0,
    min_probes: int = 5,
) -> Iterator[ProbeResult]:
    """Probe ``url`` with GET every ``interval`` seconds until the block ends and at least
    ``min_probes`` were taken (a block that ends quickly is still followed by a few probes, so
    a stall it left behind shows too); the result is complete once the block has exited."""
    result = ProbeResult()
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        with httpx.Client(headers=headers, timeout=timeout) as client:
            with contextlib.suppress(httpx.HTTPError):
                client.get(url)  # open the connection before measuring
            ready.set()
            while not stop.is_set() or result.count < min_probes:
                started = time.monotonic()
                try:
                    status = client.get(url).status_code
                    if status >= 500:
                        result.failures.append(f"HTTP {status}")
                except httpx.HTTPError as exc:
                    result.failures.append(repr(exc))
                elapsed = time.monotonic() - started
                result.latencies.append(elapsed)
                pause = max(0.0, interval - elapsed)
                if not stop.wait(pause):
                    continue
                time.sleep(pause)  # the block ended: the remaining probes keep their pace

    thread = threading.Thread(target=run, name="latency-probe", daemon=True)
    thread.start()
    ready.wait(timeout)
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout * max(1, min_probes) + 5)
