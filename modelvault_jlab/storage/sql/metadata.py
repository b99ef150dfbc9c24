"""The SQL metadata store: every role store over one database, SQLite or PostgreSQL
(:class:`~.database.Database`); one module per role.

Concurrency, per write path (SQLite serialises writers with ``BEGIN IMMEDIATE``; PostgreSQL runs
READ COMMITTED, where two replicas' transactions interleave), each safe on both engines:

- ``commit``: the ref moves first, by compare-and-swap (``UPDATE … WHERE commit_sha = expected``,
  or ``INSERT … ON CONFLICT DO NOTHING`` for a new ref). That takes the ref's row lock, so a racing
  writer blocks until the winner commits, then finds the ref moved and gets a conflict; the
  parent's files it copies belong to an immutable commit. ``set_ref`` is the same CAS.
- ``next_pr_number``: one ``UPDATE … RETURNING`` increments and reads.
- ``mirror_commit``: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` decides who writes the files.
- ``create_hub_repo``/``create_repository``: the unique key decides (``RepoExistsError``).
- xorbs and Xet files: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` decides who writes the
  chunks (terms); see ``xet.py``.
- settings, blobs, git objects, remote refs, scans, leases: single upserts; waivers, tokens and
  audit events: single inserts (``RETURNING`` the id) and guarded ``UPDATE … WHERE``.
"""

from __future__ import annotations

from ..meta import MetadataStore
from .audit import SqlAuditStore
from .governance import SqlGovernanceStore
from .hub import SqlHubStore
from .leases import SqlLeaseStore
from .repositories import SqlRepositoryStore
from .settings import SqlSettingsStore
from .tokens import SqlTokenStore
from .xet import SqlXetStore
from .xet_upstream import SqlXetUpstreamStore


class SqlMetadataStore(
    SqlSettingsStore,
    SqlRepositoryStore,
    SqlHubStore,
    SqlGovernanceStore,
    SqlTokenStore,
    SqlAuditStore,
    SqlLeaseStore,
    SqlXetStore,
    SqlXetUpstreamStore,
    MetadataStore,
):
    """All the roles on one shared :class:`~.database.Database` (one connection pool)."""
