"""SQLite :class:`PackageStore`: own tables (``pypi_*``) in the vault's ``metadata.sqlite3``.

It opens its own connection (WAL, so it coexists with the metadata store's connection and with
admin CLI processes). The SQL avoids SQLite-only syntax (``ON CONFLICT … DO NOTHING``, plain
``DELETE``/``INSERT``, no ``REPLACE`` or ``rowid``), so a PostgreSQL backend can reuse it with a
different placeholder style.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .packages import PackageFileRecord, PackageStore, RemoteLinkRecord, RemotePageRecord
from .sqlite import SqliteDatabase

_SCHEMA = """
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
"""

_FILE_COLUMNS = (
    "repository, filename, project, display_name, version, sha256, size, requires_python, "
    "yanked, upload_time, metadata_sha256, uploaded_by, origin"
)
_LINK_COLUMNS = "filename, sha256, url, size, requires_python, yanked, upload_time, metadata_sha256"


class SqlitePackageStore(SqliteDatabase, PackageStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    # -- files --
    @staticmethod
    def _file(row: sqlite3.Row) -> PackageFileRecord:
        return PackageFileRecord(
            repository=row["repository"],
            project=row["project"],
            filename=row["filename"],
            version=row["version"],
            sha256=row["sha256"],
            size=row["size"],
            requires_python=row["requires_python"],
            yanked=row["yanked"],
            upload_time=row["upload_time"],
            metadata_sha256=row["metadata_sha256"],
            uploaded_by=row["uploaded_by"],
            origin=row["origin"],
            display_name=row["display_name"],
        )

    def add_file(self, record: PackageFileRecord) -> tuple[PackageFileRecord, bool]:
        r = record
        with self._tx() as c:
            created = (
                c.execute(
                    f"INSERT INTO pypi_files ({_FILE_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (repository, filename) DO NOTHING",
                    (
                        r.repository,
                        r.filename,
                        r.project,
                        r.display_name,
                        r.version,
                        r.sha256,
                        r.size,
                        r.requires_python,
                        r.yanked,
                        r.upload_time,
                        r.metadata_sha256,
                        r.uploaded_by,
                        r.origin,
                    ),
                ).rowcount
                > 0
            )
            row = c.execute(
                "SELECT * FROM pypi_files WHERE repository = ? AND filename = ?",
                (r.repository, r.filename),
            ).fetchone()
        return self._file(row), created

    def get_file(self, repository: str, filename: str) -> PackageFileRecord | None:
        rows = self._query(
            "SELECT * FROM pypi_files WHERE repository = ? AND filename = ?",
            (repository, filename),
        )
        return self._file(rows[0]) if rows else None

    def list_files(self, repository: str, project: str) -> list[PackageFileRecord]:
        rows = self._query(
            "SELECT * FROM pypi_files WHERE repository = ? AND project = ? ORDER BY filename",
            (repository, project),
        )
        return [self._file(r) for r in rows]

    def list_projects(self, repository: str) -> list[str]:
        rows = self._query(
            "SELECT project FROM pypi_files WHERE repository = ? "
            "UNION SELECT project FROM pypi_remote_pages WHERE repository = ? AND status = 200 "
            "ORDER BY project",
            (repository, repository),
        )
        return [str(r["project"]) for r in rows]

    def has_project(self, repository: str, project: str) -> bool:
        rows = self._query(
            "SELECT 1 FROM pypi_files WHERE repository = ? AND project = ? LIMIT 1",
            (repository, project),
        )
        return bool(rows)

    # -- remote pages --
    def put_remote_page(self, page: RemotePageRecord) -> None:
        key = (page.repository, page.project)
        with self._tx() as c:
            c.execute("DELETE FROM pypi_remote_links WHERE repository = ? AND project = ?", key)
            c.execute("DELETE FROM pypi_remote_pages WHERE repository = ? AND project = ?", key)
            c.execute(
                "INSERT INTO pypi_remote_pages (repository, project, status, etag, fetched_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, page.status, page.etag, page.fetched_at),
            )
            c.executemany(
                f"INSERT INTO pypi_remote_links (repository, project, {_LINK_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (repository, project, filename) DO NOTHING",
                [
                    (
                        *key,
                        link.filename,
                        link.sha256,
                        link.url,
                        link.size,
                        link.requires_python,
                        link.yanked,
                        link.upload_time,
                        link.metadata_sha256,
                    )
                    for link in page.links
                ],
            )

    @staticmethod
    def _link(row: sqlite3.Row) -> RemoteLinkRecord:
        return RemoteLinkRecord(
            filename=row["filename"],
            sha256=row["sha256"],
            url=row["url"],
            size=row["size"],
            requires_python=row["requires_python"],
            yanked=row["yanked"],
            upload_time=row["upload_time"],
            metadata_sha256=row["metadata_sha256"],
        )

    def get_remote_page(self, repository: str, project: str) -> RemotePageRecord | None:
        with self._lock:
            head = self._conn.execute(
                "SELECT * FROM pypi_remote_pages WHERE repository = ? AND project = ?",
                (repository, project),
            ).fetchone()
            if head is None:
                return None
            links = self._conn.execute(
                "SELECT * FROM pypi_remote_links WHERE repository = ? AND project = ? "
                "ORDER BY filename",
                (repository, project),
            ).fetchall()
        return RemotePageRecord(
            repository=repository,
            project=project,
            status=head["status"],
            fetched_at=head["fetched_at"],
            etag=head["etag"],
            links=tuple(self._link(r) for r in links),
        )

    def touch_remote_page(self, repository: str, project: str, fetched_at: float) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE pypi_remote_pages SET fetched_at = ? WHERE repository = ? AND project = ?",
                (fetched_at, repository, project),
            )

    def find_remote_link(
        self, repository: str, sha256: str, filename: str
    ) -> tuple[str, RemoteLinkRecord] | None:
        rows = self._query(
            "SELECT * FROM pypi_remote_links WHERE repository = ? AND sha256 = ? AND filename = ?",
            (repository, sha256, filename),
        )
        return (str(rows[0]["project"]), self._link(rows[0])) if rows else None
