"""The SQL :class:`PackageStore` (tables ``pypi_*``), one implementation for both engines.

Concurrency (PostgreSQL READ COMMITTED; SQLite serialises writers): ``add_file`` is ``INSERT … ON
CONFLICT DO NOTHING`` then a read in the same transaction, so of two uploads of one filename the
second waits for the first and gets the stored record back (the domain then compares hashes:
"same file, different hash" is refused). ``put_remote_page`` upserts the page row first; its row
lock orders two replicas refreshing one project, so their link sets never mix.
"""

from __future__ import annotations

from ..packages import PackageFileRecord, PackageStore, RemoteLinkRecord, RemotePageRecord
from .database import Row
from .store import SqlDatabase

_FILE_COLUMNS = (
    "repository, filename, project, display_name, version, sha256, size, requires_python, "
    "yanked, upload_time, metadata_sha256, uploaded_by, origin"
)
_LINK_COLUMNS = "filename, sha256, url, size, requires_python, yanked, upload_time, metadata_sha256"
_PAGE_SQL = (
    "SELECT p.status AS page_status, p.etag AS page_etag, p.fetched_at AS page_fetched_at, "
    "l.filename, l.sha256, l.url, l.size, l.requires_python, l.yanked, l.upload_time, "
    "l.metadata_sha256 FROM pypi_remote_pages p LEFT JOIN pypi_remote_links l "
    "ON l.repository = p.repository AND l.project = p.project "
    "WHERE p.repository = ? AND p.project = ? ORDER BY l.filename"
)


class SqlPackageStore(SqlDatabase, PackageStore):
    # -- files --
    @staticmethod
    def _file(row: Row) -> PackageFileRecord:
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
        assert row is not None
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
            c.execute(
                "INSERT INTO pypi_remote_pages (repository, project, status, etag, fetched_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (repository, project) DO UPDATE SET "
                "status = excluded.status, etag = excluded.etag, fetched_at = excluded.fetched_at",
                (*key, page.status, page.etag, page.fetched_at),
            )
            c.execute("DELETE FROM pypi_remote_links WHERE repository = ? AND project = ?", key)
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
    def _link(row: Row) -> RemoteLinkRecord:
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
        # one statement, so page and links come from one snapshot on both engines
        rows = self._query(_PAGE_SQL, (repository, project))
        if not rows:
            return None
        head = rows[0]
        return RemotePageRecord(
            repository=repository,
            project=project,
            status=head["page_status"],
            fetched_at=head["page_fetched_at"],
            etag=head["page_etag"],
            links=tuple(self._link(r) for r in rows if r["filename"] is not None),
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
