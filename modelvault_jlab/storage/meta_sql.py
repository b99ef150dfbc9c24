"""The SQL metadata store, one implementation for SQLite and PostgreSQL (``sql.Database``).

Concurrency, per write path (SQLite serialises writers with ``BEGIN IMMEDIATE``; PostgreSQL runs
READ COMMITTED, where two replicas' transactions interleave), each safe on both engines:

- ``commit``: the ref moves first, by compare-and-swap (``UPDATE … WHERE commit_sha = expected``,
  or ``INSERT … ON CONFLICT DO NOTHING`` for a new ref). That takes the ref's row lock, so a racing
  writer blocks until the winner commits, then finds the ref moved and gets a conflict; the
  parent's files it copies belong to an immutable commit. ``set_ref`` is the same CAS.
- ``next_pr_number``: one ``UPDATE … RETURNING`` increments and reads.
- ``mirror_commit``: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` decides who writes the files.
- ``create_hub_repo``/``create_repository``: the unique key decides (``RepoExistsError``).
- settings, blobs, git objects, remote refs, scans, leases: single upserts; waivers, tokens and
  audit events: single inserts (``RETURNING`` the id) and guarded ``UPDATE … WHERE``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..errors import (
    EntryNotFoundError,
    InvalidFilenameError,
    RefExistsError,
    RepoExistsError,
    WriteConflictError,
)
from ..ids import CommitSha, RepoType, Sha256
from .base import (
    AuditEvent,
    AuditQuery,
    BlobInfo,
    CommitRecord,
    FileChange,
    FileEntry,
    HubRepoRecord,
    MetadataStore,
    RefKind,
    RefRecord,
    RepositoryRecord,
    ScanRecord,
    TokenRecord,
    WaiverRecord,
)
from .sql import ConstraintError, Row, SqlDatabase, Tx


def _folder_bounds(folder: str) -> tuple[str, str]:
    """``[lo, hi)`` such that every path under ``folder/`` sorts inside it ('0' follows '/')."""
    folder = folder.rstrip("/")
    return folder + "/", folder + "0"


class SqlMetadataStore(SqlDatabase, MetadataStore):
    def get_setting(self, name: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_setting_if_absent(self, name: str, value: str) -> str:
        with self._tx() as c:
            c.execute(
                "INSERT INTO settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING",
                (name, value),
            )
            row = c.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        assert row is not None
        return str(row["value"])

    # -- repositories --
    @staticmethod
    def _repository(row: Row) -> RepositoryRecord:
        return RepositoryRecord(
            key=row["key"],
            kind=row["kind"],
            description=row["description"],
            public=bool(row["public"]),
            config=json.loads(row["config"]),
            created_at=row["created_at"],
        )

    def create_repository(self, record: RepositoryRecord) -> RepositoryRecord:
        try:
            with self._tx() as c:
                c.execute(
                    "INSERT INTO repositories(key, kind, description, public, config, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.key,
                        record.kind,
                        record.description,
                        int(record.public),
                        json.dumps(record.config),
                        record.created_at or time.time(),
                    ),
                )
        except ConstraintError:
            raise RepoExistsError(f"Repository '{record.key}' already exists.") from None
        result = self.get_repository(record.key)
        assert result is not None
        return result

    def update_repository(self, record: RepositoryRecord) -> RepositoryRecord:
        with self._tx() as c:
            c.execute(
                "UPDATE repositories SET description = ?, public = ?, config = ? WHERE key = ?",
                (record.description, int(record.public), json.dumps(record.config), record.key),
            )
        result = self.get_repository(record.key)
        assert result is not None
        return result

    def get_repository(self, key: str) -> RepositoryRecord | None:
        row = self._one("SELECT * FROM repositories WHERE key = ?", (key,))
        return None if row is None else self._repository(row)

    def list_repositories(self) -> list[RepositoryRecord]:
        return [self._repository(r) for r in self._query("SELECT * FROM repositories ORDER BY key")]

    def delete_repository(self, key: str) -> bool:
        with self._tx() as c:
            return c.execute("DELETE FROM repositories WHERE key = ?", (key,)).rowcount > 0

    # -- hub repos --
    @staticmethod
    def _hub_repo(row: Row) -> HubRepoRecord:
        return HubRepoRecord(
            id=row["id"],
            repository=row["repository"],
            repo_type=row["repo_type"],
            repo_id=row["repo_id"],
            private=bool(row["private"]),
            created_at=row["created_at"],
            created_by=row["created_by"],
        )

    def create_hub_repo(
        self,
        repository: str,
        repo_type: RepoType,
        repo_id: str,
        private: bool,
        created_by: str,
        initial_commit: CommitRecord | None,
    ) -> HubRepoRecord:
        try:
            with self._tx() as c:
                row = c.execute(
                    "INSERT INTO hub_repos(repository, repo_type, repo_id, repo_key, private, "
                    "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (
                        repository,
                        repo_type,
                        repo_id,
                        repo_id.lower(),  # unique: ids differing only in case are one repo
                        int(private),
                        time.time(),
                        created_by,
                    ),
                ).fetchone()
                assert row is not None
                hub_repo = int(row["id"])
                if initial_commit is None:
                    return self._hub_repo(row)
                c.execute(
                    "INSERT INTO commits(hub_repo, sha, parent, title, message, author, created_at) "
                    "VALUES (?, ?, NULL, ?, ?, ?, ?)",
                    (
                        hub_repo,
                        initial_commit.sha,
                        initial_commit.title,
                        initial_commit.message,
                        initial_commit.author,
                        initial_commit.created_at,
                    ),
                )
                c.execute(
                    "INSERT INTO refs(hub_repo, kind, name, commit_sha) VALUES (?, 'branch', 'main', ?)",
                    (hub_repo, initial_commit.sha),
                )
        except ConstraintError:
            raise RepoExistsError(
                f"Repository {repo_id} already exists (repository ids are case-insensitive)."
            ) from None
        record = self.get_hub_repo(repository, repo_type, repo_id)
        assert record is not None
        return record

    def get_hub_repo(
        self, repository: str, repo_type: RepoType, repo_id: str
    ) -> HubRepoRecord | None:
        row = self._one(
            # Case-insensitive like the Hub; an exact match first, for case variants created
            # before ids were unique case-insensitively (they keep working by their own name).
            "SELECT * FROM hub_repos WHERE repository = ? AND repo_type = ? "
            "AND (repo_key = ? OR repo_id = ?) ORDER BY CASE WHEN repo_id = ? THEN 0 ELSE 1 END "
            "LIMIT 1",
            (repository, repo_type, repo_id.lower(), repo_id, repo_id),
        )
        return None if row is None else self._hub_repo(row)

    def list_hub_repos(
        self, repository: str, repo_type: RepoType | None, after: str | None, limit: int
    ) -> list[HubRepoRecord]:
        sql = "SELECT * FROM hub_repos WHERE repository = ?"
        params: list[Any] = [repository]
        if repo_type is not None:
            sql += " AND repo_type = ?"
            params.append(repo_type)
        if after is not None:
            sql += " AND repo_id > ?"
            params.append(after)
        sql += " ORDER BY repo_id, repo_type LIMIT ?"
        params.append(limit)
        return [self._hub_repo(r) for r in self._query(sql, params)]

    def update_hub_repo(self, repo: HubRepoRecord, *, private: bool) -> HubRepoRecord:
        with self._tx() as c:
            c.execute("UPDATE hub_repos SET private = ? WHERE id = ?", (int(private), repo.id))
        updated = self.get_hub_repo(repo.repository, repo.repo_type, repo.repo_id)
        assert updated is not None
        return updated

    def delete_hub_repo(self, hub_repo: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM hub_repos WHERE id = ?", (hub_repo,))

    # -- commits and refs --
    @staticmethod
    def _commit(row: Row) -> CommitRecord:
        return CommitRecord(
            sha=CommitSha(row["sha"]),
            hub_repo=row["hub_repo"],
            parent=row["parent"],
            title=row["title"],
            message=row["message"],
            author=row["author"],
            created_at=row["created_at"],
        )

    @staticmethod
    def _insert_commit(c: Tx, commit: CommitRecord) -> int | None:
        """The new commit's pk; ``None`` if the repo already has a commit with this sha."""
        row = c.execute(
            "INSERT INTO commits(hub_repo, sha, parent, title, message, author, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hub_repo, sha) DO NOTHING RETURNING pk",
            (
                commit.hub_repo,
                commit.sha,
                commit.parent,
                commit.title,
                commit.message,
                commit.author,
                commit.created_at,
            ),
        ).fetchone()
        return None if row is None else int(row["pk"])

    def _commit_pk(self, c: Tx, hub_repo: int, sha: str) -> int | None:
        row = c.execute(
            "SELECT pk FROM commits WHERE hub_repo = ? AND sha = ?", (hub_repo, sha)
        ).fetchone()
        return None if row is None else int(row["pk"])

    def commit(
        self,
        commit: CommitRecord,
        changes: Sequence[FileChange],
        ref_kind: RefKind,
        ref_name: str,
        expected_head: CommitSha | None,
    ) -> None:
        key = (commit.hub_repo, ref_kind, ref_name)
        with self._tx() as c:
            # Move the ref first: the CAS takes the ref's row lock, so a racing writer waits for
            # this transaction and then fails the CAS instead of overwriting the new head.
            if expected_head is None:
                moved = c.execute(
                    "INSERT INTO refs(hub_repo, kind, name, commit_sha) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (hub_repo, kind, name) DO NOTHING",
                    (*key, commit.sha),
                ).rowcount
            else:
                moved = c.execute(
                    "UPDATE refs SET commit_sha = ? WHERE hub_repo = ? AND kind = ? AND name = ? "
                    "AND commit_sha = ?",
                    (commit.sha, *key, expected_head),
                ).rowcount
            if not moved:
                row = c.execute(
                    "SELECT commit_sha FROM refs WHERE hub_repo = ? AND kind = ? AND name = ?", key
                ).fetchone()
                current = None if row is None else row["commit_sha"]
                raise WriteConflictError(
                    f"The {ref_kind} '{ref_name}' moved to {current} while this commit was "
                    f"prepared on {expected_head}; fetch the new head and retry.",
                    expected=expected_head,
                    actual=current,
                )
            pk = self._insert_commit(c, commit)
            if pk is None:
                raise WriteConflictError(f"Commit {commit.sha} already exists; retry.")
            if commit.parent is not None:
                parent_pk = self._commit_pk(c, commit.hub_repo, commit.parent)
                c.execute(
                    "INSERT INTO files(commit_pk, path, sha256, size, git_oid, lfs) "
                    "SELECT ?, path, sha256, size, git_oid, lfs FROM files WHERE commit_pk = ?",
                    (pk, parent_pk),
                )
            for change in changes:
                self._apply(c, pk, change)

    @staticmethod
    def _apply(c: Tx, pk: int, change: FileChange) -> None:
        if change.op == "delete_file":
            n = c.execute(
                "DELETE FROM files WHERE commit_pk = ? AND path = ?", (pk, change.path)
            ).rowcount
            if n == 0:
                raise EntryNotFoundError(
                    f"A file with this name doesn't exist: {change.path}", path=change.path
                )
            return
        if change.op == "delete_folder":
            lo, hi = _folder_bounds(change.path)
            n = c.execute(
                "DELETE FROM files WHERE commit_pk = ? AND path >= ? AND path < ?", (pk, lo, hi)
            ).rowcount
            if n == 0:
                raise EntryNotFoundError(
                    f"A folder with this name doesn't exist: {change.path}", path=change.path
                )
            return
        entry = change.entry
        assert entry is not None
        lo, hi = _folder_bounds(entry.path)
        if c.execute(
            "SELECT 1 FROM files WHERE commit_pk = ? AND path >= ? AND path < ? LIMIT 1",
            (pk, lo, hi),
        ).fetchone():
            raise InvalidFilenameError(f"Cannot add file {entry.path!r}: a folder has that name.")
        parts = entry.path.split("/")
        ancestors = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if ancestors:
            marks = ",".join("?" * len(ancestors))
            if c.execute(
                f"SELECT 1 FROM files WHERE commit_pk = ? AND path IN ({marks}) LIMIT 1",  # noqa: S608
                (pk, *ancestors),
            ).fetchone():
                raise InvalidFilenameError(
                    f"Cannot add file {entry.path!r}: a parent folder name is already a file."
                )
        c.execute(
            "INSERT INTO files(commit_pk, path, sha256, size, git_oid, lfs) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(commit_pk, path) DO UPDATE SET sha256 = excluded.sha256, "
            "size = excluded.size, git_oid = excluded.git_oid, lfs = excluded.lfs",
            (pk, entry.path, entry.sha256, entry.size, entry.git_oid, int(entry.lfs)),
        )

    def get_commit(self, hub_repo: int, sha: CommitSha) -> CommitRecord | None:
        row = self._one("SELECT * FROM commits WHERE hub_repo = ? AND sha = ?", (hub_repo, sha))
        return None if row is None else self._commit(row)

    def list_commits(
        self, hub_repo: int, head: CommitSha, offset: int, limit: int
    ) -> list[CommitRecord]:
        rows = self._query(
            """
            WITH RECURSIVE chain(sha, depth) AS (
                SELECT sha, 0 FROM commits WHERE hub_repo = ? AND sha = ?
                UNION ALL
                SELECT c.parent, chain.depth + 1 FROM commits c
                JOIN chain ON c.sha = chain.sha AND c.hub_repo = ?
                WHERE c.parent IS NOT NULL
            )
            SELECT c.* FROM chain JOIN commits c ON c.sha = chain.sha AND c.hub_repo = ?
            ORDER BY chain.depth LIMIT ? OFFSET ?
            """,
            (hub_repo, head, hub_repo, hub_repo, limit, offset),
        )
        return [self._commit(r) for r in rows]

    def get_ref(self, hub_repo: int, kind: RefKind, name: str) -> RefRecord | None:
        row = self._one(
            "SELECT * FROM refs WHERE hub_repo = ? AND kind = ? AND name = ?",
            (hub_repo, kind, name),
        )
        return None if row is None else RefRecord(row["kind"], row["name"], row["commit_sha"])

    def list_refs(self, hub_repo: int) -> list[RefRecord]:
        rows = self._query("SELECT * FROM refs WHERE hub_repo = ? ORDER BY kind, name", (hub_repo,))
        return [RefRecord(r["kind"], r["name"], r["commit_sha"]) for r in rows]

    def set_ref(
        self, hub_repo: int, kind: RefKind, name: str, commit: CommitSha, expected: CommitSha | None
    ) -> None:
        with self._tx() as c:
            if expected is None:
                try:
                    c.execute(
                        "INSERT INTO refs(hub_repo, kind, name, commit_sha) VALUES (?, ?, ?, ?)",
                        (hub_repo, kind, name, commit),
                    )
                except ConstraintError:
                    raise RefExistsError(f"The {kind} '{name}' already exists.") from None
                return
            n = c.execute(
                "UPDATE refs SET commit_sha = ? WHERE hub_repo = ? AND kind = ? AND name = ? "
                "AND commit_sha = ?",
                (commit, hub_repo, kind, name, expected),
            ).rowcount
            if n == 0:
                raise WriteConflictError(f"The {kind} '{name}' moved; retry.")

    def delete_ref(self, hub_repo: int, kind: RefKind, name: str) -> bool:
        with self._tx() as c:
            return (
                c.execute(
                    "DELETE FROM refs WHERE hub_repo = ? AND kind = ? AND name = ?",
                    (hub_repo, kind, name),
                ).rowcount
                > 0
            )

    def next_pr_number(self, hub_repo: int) -> int:
        # one statement: two replicas never draw the same number
        row = self._tx_one(
            "UPDATE hub_repos SET next_pr = next_pr + 1 WHERE id = ? RETURNING next_pr - 1 AS n",
            (hub_repo,),
        )
        assert row is not None
        return int(row["n"])

    # -- mirrors --
    def mirror_commit(self, commit: CommitRecord, files: Sequence[FileEntry]) -> None:
        with self._tx() as c:
            pk = self._insert_commit(c, commit)
            if pk is None:  # already recorded (maybe by another replica just now)
                return
            c.executemany(
                "INSERT INTO files(commit_pk, path, sha256, size, git_oid, lfs) VALUES (?,?,?,?,?,?)",
                [(pk, f.path, f.sha256, f.size, f.git_oid, int(f.lfs)) for f in files],
            )

    def get_remote_ref(self, hub_repo: int, revision: str) -> tuple[CommitSha, float] | None:
        row = self._one(
            "SELECT commit_sha, fetched_at FROM remote_refs WHERE hub_repo = ? AND revision = ?",
            (hub_repo, revision),
        )
        return None if row is None else (CommitSha(row["commit_sha"]), float(row["fetched_at"]))

    def set_remote_ref(
        self, hub_repo: int, revision: str, commit: CommitSha, fetched_at: float
    ) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO remote_refs(hub_repo, revision, commit_sha, fetched_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(hub_repo, revision) DO UPDATE SET "
                "commit_sha = excluded.commit_sha, fetched_at = excluded.fetched_at",
                (hub_repo, revision, commit, fetched_at),
            )

    def list_remote_refs(self, hub_repo: int) -> list[tuple[str, CommitSha]]:
        rows = self._query(
            "SELECT revision, commit_sha FROM remote_refs WHERE hub_repo = ? ORDER BY revision",
            (hub_repo,),
        )
        return [(r["revision"], CommitSha(r["commit_sha"])) for r in rows]

    def get_git_object(self, git_oid: str) -> Sha256 | None:
        row = self._one("SELECT sha256 FROM git_objects WHERE git_oid = ?", (git_oid,))
        return None if row is None else Sha256(row["sha256"])

    def put_git_object(self, git_oid: str, sha256: Sha256) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO git_objects(git_oid, sha256) VALUES (?, ?) "
                "ON CONFLICT(git_oid) DO NOTHING",
                (git_oid, sha256),
            )

    # -- files --
    @staticmethod
    def _file(row: Row) -> FileEntry:
        return FileEntry(
            path=row["path"],
            sha256=Sha256(row["sha256"]),
            size=row["size"],
            git_oid=row["git_oid"],
            lfs=bool(row["lfs"]),
        )

    _PK = "(SELECT pk FROM commits WHERE hub_repo = ? AND sha = ?)"

    def get_file(self, hub_repo: int, commit: CommitSha, path: str) -> FileEntry | None:
        row = self._one(
            f"SELECT * FROM files WHERE commit_pk = {self._PK} AND path = ?",  # noqa: S608
            (hub_repo, commit, path),
        )
        return None if row is None else self._file(row)

    def list_files(
        self, hub_repo: int, commit: CommitSha, prefix: str, after: str | None, limit: int
    ) -> list[FileEntry]:
        sql = f"SELECT * FROM files WHERE commit_pk = {self._PK}"  # noqa: S608
        params: list[Any] = [hub_repo, commit]
        if prefix:
            lo, hi = _folder_bounds(prefix)
            sql += " AND path >= ? AND path < ?"
            params += [lo, hi]
        if after is not None:
            sql += " AND path > ?"
            params.append(after)
        sql += " ORDER BY path LIMIT ?"
        params.append(limit)
        return [self._file(r) for r in self._query(sql, params)]

    def has_folder(self, hub_repo: int, commit: CommitSha, folder: str) -> bool:
        lo, hi = _folder_bounds(folder)
        return (
            self._one(
                f"SELECT 1 FROM files WHERE commit_pk = {self._PK} "  # noqa: S608
                "AND path >= ? AND path < ? LIMIT 1",
                (hub_repo, commit, lo, hi),
            )
            is not None
        )

    def count_files(self, hub_repo: int, commit: CommitSha) -> int:
        row = self._one(
            f"SELECT COUNT(*) AS n FROM files WHERE commit_pk = {self._PK}",  # noqa: S608
            (hub_repo, commit),
        )
        return 0 if row is None else int(row["n"])

    # -- blobs --
    def register_blobs(self, infos: Sequence[BlobInfo]) -> None:
        now = time.time()
        with self._tx() as c:
            c.executemany(
                # created_at: last registered (garbage collection spares recently re-used blobs)
                "INSERT INTO blobs(sha256, size, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET created_at = excluded.created_at",
                [(i.sha256, i.size, now) for i in infos],
            )

    def get_blob(self, sha256: Sha256) -> BlobInfo | None:
        row = self._one("SELECT sha256, size FROM blobs WHERE sha256 = ?", (sha256,))
        return None if row is None else BlobInfo(Sha256(row["sha256"]), row["size"])

    def add_repository_blob(self, repository: str, sha256: Sha256) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO repository_blobs(repository, sha256, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(repository, sha256) DO NOTHING",
                (repository, sha256, time.time()),
            )

    def blob_repositories(self, sha256: Sha256, limit: int = 1000) -> list[str]:
        rows = self._query(
            "SELECT repository FROM repository_blobs WHERE sha256 = ? "
            "UNION SELECT h.repository FROM files f JOIN commits c ON c.pk = f.commit_pk "
            "JOIN hub_repos h ON h.id = c.hub_repo WHERE f.sha256 = ? "
            "ORDER BY repository LIMIT ?",
            (sha256, sha256, limit),
        )
        return [str(r["repository"]) for r in rows]

    # -- governance --
    def set_setting(self, name: str, value: str) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO settings(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    @staticmethod
    def _scan(row: Row) -> ScanRecord:
        return ScanRecord(
            Sha256(row["sha256"]),
            row["scanner_version"],
            row["verdict"],
            json.loads(row["report"]),
            row["scanned_at"],
        )

    def get_scan(self, sha256: Sha256) -> ScanRecord | None:
        row = self._one("SELECT * FROM scan_results WHERE sha256 = ?", (sha256,))
        return None if row is None else self._scan(row)

    def put_scan(self, record: ScanRecord) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO scan_results(sha256, scanner_version, verdict, report, scanned_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
                "scanner_version = excluded.scanner_version, verdict = excluded.verdict, "
                "report = excluded.report, scanned_at = excluded.scanned_at",
                (
                    record.sha256,
                    record.scanner_version,
                    record.verdict,
                    json.dumps(record.report),
                    record.scanned_at,
                ),
            )

    def list_scans(self, verdicts: Sequence[str], limit: int) -> list[ScanRecord]:
        marks = ",".join("?" * len(verdicts)) or "NULL"
        rows = self._query(
            f"SELECT * FROM scan_results WHERE verdict IN ({marks}) "  # noqa: S608
            "ORDER BY scanned_at DESC LIMIT ?",
            (*verdicts, limit),
        )
        return [self._scan(r) for r in rows]

    def stale_scans(self, scanner_version: str, limit: int) -> list[Sha256]:
        rows = self._query(
            "SELECT sha256 FROM scan_results WHERE scanner_version != ? LIMIT ?",
            (scanner_version, limit),
        )
        return [Sha256(r["sha256"]) for r in rows]

    @staticmethod
    def _waiver(row: Row) -> WaiverRecord:
        return WaiverRecord(
            id=row["id"],
            policy=row["policy"],
            repository=row["repository"],
            repo_type=row["repo_type"],
            repo_id=row["repo_id"],
            commit=row["commit_sha"],
            sha256=row["sha256"],
            justification=row["justification"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )

    def create_waiver(self, record: WaiverRecord) -> WaiverRecord:
        row = self._tx_one(
            "INSERT INTO waivers(policy, repository, repo_type, repo_id, commit_sha, sha256, "
            "justification, created_by, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "RETURNING *",
            (
                record.policy,
                record.repository,
                record.repo_type,
                record.repo_id,
                record.commit,
                record.sha256,
                record.justification,
                record.created_by,
                record.created_at,
                record.expires_at,
            ),
        )
        assert row is not None
        return self._waiver(row)

    def list_waivers(self, include_inactive: bool, now: float) -> list[WaiverRecord]:
        sql = "SELECT * FROM waivers"
        params: tuple[Any, ...] = ()
        if not include_inactive:
            sql += " WHERE revoked_at IS NULL AND expires_at > ?"
            params = (now,)
        return [self._waiver(r) for r in self._query(sql + " ORDER BY id DESC", params)]

    def revoke_waiver(self, waiver_id: int, when: float) -> bool:
        with self._tx() as c:
            return (
                c.execute(
                    "UPDATE waivers SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (when, waiver_id),
                ).rowcount
                > 0
            )

    # -- tokens --
    @staticmethod
    def _token(row: Row) -> TokenRecord:
        return TokenRecord(
            id=row["id"],
            name=row["name"],
            secret_hash=row["secret_hash"],
            scopes=tuple(json.loads(row["scopes"])),
            repositories=tuple(json.loads(row["repositories"])),
            created_by=row["created_by"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            description=row["description"],
            parent_id=row["parent_id"],
        )

    def create_token(self, record: TokenRecord) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO tokens(id, name, secret_hash, scopes, repositories, created_by, "
                "created_at, expires_at, revoked_at, description, parent_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.name,
                    record.secret_hash,
                    json.dumps(list(record.scopes)),
                    json.dumps(list(record.repositories)),
                    record.created_by,
                    record.created_at,
                    record.expires_at,
                    record.revoked_at,
                    record.description,
                    record.parent_id,
                ),
            )

    def get_token(self, token_id: str) -> TokenRecord | None:
        row = self._one("SELECT * FROM tokens WHERE id = ?", (token_id,))
        return None if row is None else self._token(row)

    def list_tokens(self) -> list[TokenRecord]:
        return [self._token(r) for r in self._query("SELECT * FROM tokens ORDER BY created_at")]

    def revoke_token(self, token_id: str, when: float) -> bool:
        with self._tx() as c:
            return (
                c.execute(
                    # children go with their parent (one level: a child cannot mint)
                    "UPDATE tokens SET revoked_at = ? "
                    "WHERE (id = ? OR parent_id = ?) AND revoked_at IS NULL",
                    (when, token_id, token_id),
                ).rowcount
                > 0
            )

    # -- audit --
    def append_audit(
        self,
        *,
        ts: float,
        actor: str,
        token_id: str | None,
        action: str,
        repository: str | None,
        subject: str | None,
        detail: dict[str, Any],
        remote_addr: str | None,
    ) -> int:
        row = self._tx_one(
            "INSERT INTO audit_events(ts, actor, token_id, action, repository, subject, detail, "
            "remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (ts, actor, token_id, action, repository, subject, json.dumps(detail), remote_addr),
        )
        assert row is not None
        return int(row["id"])

    def query_audit(self, query: AuditQuery) -> list[AuditEvent]:
        sql = "SELECT * FROM audit_events WHERE 1 = 1"
        params: list[Any] = []
        for column, value in (
            ("actor", query.actor),
            ("action", query.action),
            ("repository", query.repository),
        ):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if query.subject_prefix is not None:
            sql += " AND subject >= ? AND subject < ?"
            params += [query.subject_prefix, query.subject_prefix + "\U0010ffff"]
        if query.before_id is not None:
            sql += " AND id < ?"
            params.append(query.before_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(query.limit)
        return [
            AuditEvent(
                id=r["id"],
                ts=r["ts"],
                actor=r["actor"],
                token_id=r["token_id"],
                action=r["action"],
                repository=r["repository"],
                subject=r["subject"],
                detail=json.loads(r["detail"]),
                remote_addr=r["remote_addr"],
            )
            for r in self._query(sql, params)
        ]

    # -- leases --
    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        # One statement, so the check (free, expired or ours) and the take cannot interleave
        # with another replica's: the upsert's WHERE leaves a live foreign lease untouched.
        now = self._now_sql
        row = self._tx_one(
            f"INSERT INTO leases(name, holder, expires_at) VALUES (?, ?, {now} + ?) "  # noqa: S608
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at "
            f"WHERE leases.expires_at <= {now} OR leases.holder = excluded.holder "
            "RETURNING holder",
            (name, holder, ttl_seconds),
        )
        return row is not None

    def renew_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        now = self._now_sql
        with self._tx() as c:
            return (
                c.execute(
                    f"UPDATE leases SET expires_at = {now} + ? "  # noqa: S608
                    f"WHERE name = ? AND holder = ? AND expires_at > {now}",
                    (ttl_seconds, name, holder),
                ).rowcount
                > 0
            )

    def release_lease(self, name: str, holder: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
