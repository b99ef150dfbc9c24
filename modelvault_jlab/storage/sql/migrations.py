"""Versioned schema migrations, shared by both engines.

Each migration is numbered and applied once, recorded in ``schema_migrations``. :func:`migrate`
runs the pending ones in one transaction under a lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so two replicas starting together migrate once
and the second sees the first's work. Schema text uses SQLite's type names; the database maps them
(``sql.Database.schema``).

Data directories made before migrations existed hold the baseline tables, ``settings.
schema_version = 1`` and no ``schema_migrations``: migration 1 only creates what is missing
(``IF NOT EXISTS``), so they open unchanged and continue from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import StorageError
from .database import Database


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


class SchemaOutOfDateError(StorageError):
    """The database schema is not the one this code needs (migrations pending, or the database
    was migrated by a newer version)."""

    code = "SchemaOutOfDate"


_BASELINE = """
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS repositories (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    public INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hub_repos (
    id INTEGER PRIMARY KEY,
    repository TEXT NOT NULL REFERENCES repositories(key) ON DELETE CASCADE,
    repo_type TEXT NOT NULL,
    repo_id TEXT NOT NULL,
    private INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    next_pr INTEGER NOT NULL DEFAULT 1,
    UNIQUE (repository, repo_type, repo_id)
);
CREATE TABLE IF NOT EXISTS commits (
    pk INTEGER PRIMARY KEY,
    hub_repo INTEGER NOT NULL REFERENCES hub_repos(id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    parent TEXT,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (hub_repo, sha)
);
CREATE TABLE IF NOT EXISTS files (
    commit_pk INTEGER NOT NULL REFERENCES commits(pk) ON DELETE CASCADE,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    git_oid TEXT NOT NULL,
    lfs INTEGER NOT NULL,
    PRIMARY KEY (commit_pk, path)
);
CREATE TABLE IF NOT EXISTS refs (
    hub_repo INTEGER NOT NULL REFERENCES hub_repos(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    PRIMARY KEY (hub_repo, kind, name)
);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    repositories TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    revoked_at REAL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    token_id TEXT,
    action TEXT NOT NULL,
    repository TEXT,
    subject TEXT,
    detail TEXT NOT NULL,
    remote_addr TEXT
);
CREATE TABLE IF NOT EXISTS remote_refs (
    hub_repo INTEGER NOT NULL REFERENCES hub_repos(id) ON DELETE CASCADE,
    revision TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (hub_repo, revision)
);
CREATE TABLE IF NOT EXISTS git_objects (
    git_oid TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scan_results (
    sha256 TEXT PRIMARY KEY,
    scanner_version TEXT NOT NULL,
    verdict TEXT NOT NULL,
    report TEXT NOT NULL,
    scanned_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS waivers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    policy TEXT NOT NULL,
    repository TEXT,
    repo_type TEXT,
    repo_id TEXT,
    commit_sha TEXT,
    sha256 TEXT,
    justification TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS audit_by_repository ON audit_events (repository, id);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit_events (action, id);
CREATE TABLE IF NOT EXISTS pypi_files (
    repository TEXT NOT NULL,
    filename TEXT NOT NULL,
    project TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    requires_python TEXT,
    yanked TEXT,
    upload_time REAL NOT NULL,
    metadata_sha256 TEXT,
    uploaded_by TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (repository, filename)
);
CREATE INDEX IF NOT EXISTS pypi_files_by_project ON pypi_files (repository, project);
CREATE TABLE IF NOT EXISTS pypi_remote_pages (
    repository TEXT NOT NULL,
    project TEXT NOT NULL,
    status INTEGER NOT NULL,
    etag TEXT,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (repository, project)
);
CREATE TABLE IF NOT EXISTS pypi_remote_links (
    repository TEXT NOT NULL,
    project TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    url TEXT NOT NULL,
    size INTEGER,
    requires_python TEXT,
    yanked TEXT,
    upload_time REAL,
    metadata_sha256 TEXT,
    PRIMARY KEY (repository, project, filename)
);
CREATE INDEX IF NOT EXISTS pypi_remote_links_by_hash ON pypi_remote_links (repository, sha256);
CREATE TABLE IF NOT EXISTS bundles (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    manifest BLOB NOT NULL,
    signature TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    origin TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS bundle_pins (
    bundle_id INTEGER NOT NULL REFERENCES bundles(id),
    sha256 TEXT NOT NULL,
    PRIMARY KEY (bundle_id, sha256)
);
CREATE INDEX IF NOT EXISTS bundle_pins_by_sha ON bundle_pins (sha256);
CREATE TABLE IF NOT EXISTS bundle_promotions (
    bundle_id INTEGER NOT NULL REFERENCES bundles(id),
    seq INTEGER NOT NULL,
    environment TEXT NOT NULL,
    payload BLOB NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (bundle_id, seq)
);
CREATE TABLE IF NOT EXISTS bundle_files (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL
);
INSERT INTO settings(name, value) VALUES('schema_version', '1')
    ON CONFLICT(name) DO NOTHING;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: metadata, packages and bundles", _BASELINE),
    Migration(
        2,
        "leases for coordination between replicas",
        """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
""",
    ),
    Migration(
        3,
        "child tokens: the token that minted a token (revoking it revokes the child)",
        """
ALTER TABLE tokens ADD COLUMN parent_id TEXT;
CREATE INDEX IF NOT EXISTS tokens_by_parent ON tokens (parent_id);
""",
    ),
    Migration(
        4,
        "blob holdings: which repositories hold a blob (reusing one by its sha256 needs read)",
        """
CREATE TABLE IF NOT EXISTS repository_blobs (
    repository TEXT NOT NULL REFERENCES repositories(key) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (repository, sha256)
);
CREATE INDEX IF NOT EXISTS repository_blobs_by_sha ON repository_blobs (sha256);
CREATE INDEX IF NOT EXISTS files_by_sha256 ON files (sha256);
""",
    ),
    Migration(
        5,
        "Hub repo ids unique case-insensitively (legacy case variants keep a distinct key)",
        """
ALTER TABLE hub_repos ADD COLUMN repo_key TEXT;
UPDATE hub_repos SET repo_key = lower(repo_id) WHERE id IN (
    SELECT MIN(id) FROM hub_repos GROUP BY repository, repo_type, lower(repo_id)
);
UPDATE hub_repos SET repo_key = lower(repo_id) || '#' || id WHERE repo_key IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS hub_repos_by_key ON hub_repos (repository, repo_type, repo_key);
""",
    ),
    Migration(
        6,
        "permission targets and group memberships (users and groups from JupyterHub or the vault)",
        """
CREATE TABLE IF NOT EXISTS permission_targets (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS permission_members (
    group_name TEXT NOT NULL,
    user_name TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (group_name, user_name, source)
);
""",
    ),
    Migration(
        7,
        "garbage collection: every table that names a blob is searchable by its sha256",
        """
CREATE INDEX IF NOT EXISTS git_objects_by_sha256 ON git_objects (sha256);
CREATE INDEX IF NOT EXISTS pypi_files_by_sha256 ON pypi_files (sha256);
CREATE INDEX IF NOT EXISTS pypi_files_by_metadata ON pypi_files (metadata_sha256);
CREATE INDEX IF NOT EXISTS bundle_files_by_sha256 ON bundle_files (sha256);
CREATE INDEX IF NOT EXISTS waivers_by_sha256 ON waivers (sha256);
CREATE INDEX IF NOT EXISTS blobs_by_created_at ON blobs (created_at);
""",
    ),
    Migration(
        8,
        "Xet storage: xorbs (each a blob) and their chunks, files stored as terms, uploaders",
        """
CREATE TABLE IF NOT EXISTS xet_xorbs (
    xorb_hash TEXT PRIMARY KEY,
    blob_sha256 TEXT NOT NULL,
    serialized_len INTEGER NOT NULL,
    raw_len INTEGER NOT NULL,
    n_chunks INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS xet_xorbs_by_blob ON xet_xorbs (blob_sha256);
CREATE TABLE IF NOT EXISTS xet_xorb_chunks (
    xorb_hash TEXT NOT NULL REFERENCES xet_xorbs(xorb_hash) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    chunk_hash TEXT NOT NULL,
    raw_start INTEGER NOT NULL,
    raw_len INTEGER NOT NULL,
    ser_start INTEGER NOT NULL,
    ser_end INTEGER NOT NULL,
    PRIMARY KEY (xorb_hash, idx)
);
CREATE INDEX IF NOT EXISTS xet_xorb_chunks_by_hash ON xet_xorb_chunks (chunk_hash);
CREATE TABLE IF NOT EXISTS xet_xorb_repositories (
    xorb_hash TEXT NOT NULL REFERENCES xet_xorbs(xorb_hash) ON DELETE CASCADE,
    repository TEXT NOT NULL REFERENCES repositories(key) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (xorb_hash, repository)
);
CREATE TABLE IF NOT EXISTS xet_files (
    file_hash TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS xet_files_by_sha256 ON xet_files (sha256, created_at);
CREATE TABLE IF NOT EXISTS xet_file_terms (
    file_hash TEXT NOT NULL REFERENCES xet_files(file_hash) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    xorb_hash TEXT NOT NULL,
    chunk_start INTEGER NOT NULL,
    chunk_end INTEGER NOT NULL,
    unpacked INTEGER NOT NULL,
    PRIMARY KEY (file_hash, idx)
);
CREATE INDEX IF NOT EXISTS xet_file_terms_by_xorb ON xet_file_terms (xorb_hash);
CREATE TABLE IF NOT EXISTS xet_file_repositories (
    file_hash TEXT NOT NULL REFERENCES xet_files(file_hash) ON DELETE CASCADE,
    repository TEXT NOT NULL REFERENCES repositories(key) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (file_hash, repository)
);
CREATE INDEX IF NOT EXISTS xet_file_repositories_by_sha256
    ON xet_file_repositories (sha256, repository);
""",
    ),
    Migration(
        9,
        "remote caches: the files each remote repository cached, their sizes and last access "
        "(quotas, least-recently-used eviction); filled from what remotes cached before",
        """
CREATE TABLE IF NOT EXISTS cache_entries (
    repository TEXT NOT NULL REFERENCES repositories(key) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    last_access REAL NOT NULL,
    PRIMARY KEY (repository, sha256)
);
CREATE INDEX IF NOT EXISTS cache_entries_by_access ON cache_entries (repository, last_access);
CREATE INDEX IF NOT EXISTS cache_entries_by_sha256 ON cache_entries (sha256);
INSERT INTO cache_entries(repository, sha256, size, last_access)
SELECT DISTINCT h.repository, b.sha256, b.size, b.created_at
  FROM files f JOIN commits c ON c.pk = f.commit_pk JOIN hub_repos h ON h.id = c.hub_repo
  JOIN repositories r ON r.key = h.repository
  JOIN blobs b ON b.sha256 = f.sha256
 WHERE r.kind = 'hf-remote' AND f.lfs = 1
ON CONFLICT DO NOTHING;
INSERT INTO cache_entries(repository, sha256, size, last_access)
SELECT DISTINCT h.repository, b.sha256, b.size, b.created_at
  FROM files f JOIN commits c ON c.pk = f.commit_pk JOIN hub_repos h ON h.id = c.hub_repo
  JOIN repositories r ON r.key = h.repository
  JOIN git_objects g ON g.git_oid = f.git_oid JOIN blobs b ON b.sha256 = g.sha256
 WHERE r.kind = 'hf-remote' AND f.lfs = 0
ON CONFLICT DO NOTHING;
INSERT INTO cache_entries(repository, sha256, size, last_access)
SELECT DISTINCT p.repository, b.sha256, b.size, b.created_at
  FROM pypi_files p JOIN repositories r ON r.key = p.repository
  JOIN blobs b ON b.sha256 = p.sha256
 WHERE r.kind = 'pypi-remote'
ON CONFLICT DO NOTHING;
""",
    ),
    Migration(
        12,
        "Xet remote cache: which chunk ranges of an upstream's xorbs each hf-remote repository "
        "holds, as chunks of a local (verified) xorb",
        """
CREATE TABLE IF NOT EXISTS xet_upstream_segments (
    repository TEXT NOT NULL REFERENCES repositories(key) ON DELETE CASCADE,
    upstream_xorb TEXT NOT NULL,
    chunk_start INTEGER NOT NULL,
    chunk_end INTEGER NOT NULL,
    xorb_hash TEXT NOT NULL REFERENCES xet_xorbs(xorb_hash) ON DELETE CASCADE,
    local_start INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (repository, upstream_xorb, chunk_start, chunk_end)
);
CREATE INDEX IF NOT EXISTS xet_upstream_segments_by_xorb ON xet_upstream_segments (xorb_hash);
""",
    ),
)

LATEST = MIGRATIONS[-1].version

_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class SchemaStatus:
    applied: tuple[int, ...]
    pending: tuple[Migration, ...]

    @property
    def current(self) -> int:
        return max(self.applied, default=0)

    @property
    def ahead(self) -> bool:
        """Migrated by a newer ModelVault than this one."""
        return self.current > LATEST


def _applied(db: Database) -> tuple[int, ...]:
    rows = (
        db.query("SELECT version FROM schema_migrations ORDER BY version") if _has_table(db) else []
    )
    return tuple(int(r["version"]) for r in rows)


def _has_table(db: Database) -> bool:
    if db.engine == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    else:
        sql = (
            "SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'schema_migrations' "
            "AND schemaname = current_schema()"
        )
    return bool(db.query(sql))


def status(db: Database) -> SchemaStatus:
    applied = _applied(db)
    done = set(applied)
    return SchemaStatus(applied, tuple(m for m in MIGRATIONS if m.version not in done))


def migrate(db: Database) -> list[Migration]:
    """Apply the pending migrations; returns those this call applied."""
    if not status(db).pending:
        return []  # the common start: no lock, no DDL (a read-only role may start a server)
    with db.transaction() as tx:
        tx.advisory_lock("modelvault:schema_migrations")
        for statement in db.schema(_TABLE):
            tx.execute(statement)
        done = {
            int(r["version"])
            for r in tx.execute("SELECT version FROM schema_migrations").fetchall()
        }
        applied = []
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            for statement in db.schema(migration.sql):
                tx.execute(statement)
            tx.execute(
                f"INSERT INTO schema_migrations(version, description, applied_at) "  # noqa: S608
                f"VALUES (?, ?, {db.now_sql})",
                (migration.version, migration.description),
            )
            applied.append(migration)
    return applied


def ensure_current(db: Database) -> None:
    """Refuse to run on a schema other than this code's.

    Raises:
        SchemaOutOfDateError: migrations are pending, or the database is newer than this code.
    """
    state = status(db)
    if state.ahead:
        raise SchemaOutOfDateError(
            f"The database schema is at version {state.current}, newer than this ModelVault "
            f"({LATEST}): upgrade ModelVault."
        )
    if state.pending:
        raise SchemaOutOfDateError(
            f"The database schema is at version {state.current}, this ModelVault needs "
            f"{LATEST}: run `modelvault db migrate` (or enable database_migrate_on_start)."
        )
