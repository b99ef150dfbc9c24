"""The events core services report for monitoring (``core/metrics.py`` counts them).

A service holds ``observer: Observer = NO_OBSERVER`` and the vault replaces it with its metrics:
the domain reports what happened and never imports the monitoring library.
"""

from __future__ import annotations


class Observer:
    """The events core services report; this base ignores them (vaults without metrics)."""

    def cache_lookup(self, repository: str, hit: bool) -> None:
        """A file of a remote repository was served from the cache (hit) or fetched (miss)."""

    def scanned(self, verdict: str, seconds: float) -> None:
        """A scan ran to its verdict."""

    def blocked(self, policy: str) -> None:
        """A download was refused by ``policy``."""

    def lease_waited(self, name: str, seconds: float, outcome: str) -> None:
        """This replica waited for another one's lease: ``result`` (the holder's work arrived),
        ``took_over`` (the lease came free) or ``timed_out`` (it does the work itself)."""


NO_OBSERVER = Observer()
