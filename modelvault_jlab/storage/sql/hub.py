"""Commits, refs, files, mirrors and the blob registry in SQL.

- ``commit``: the ref moves first, by compare-and-swap (``UPDATE … WHERE commit_sha = expected``,
  or ``INSERT … ON CONFLICT DO NOTHING`` for a new ref). That takes the ref's row lock, so a racing
  writer blocks until the winner commits, then finds the ref moved and gets a conflict; the
  parent's files it copies belong to an immutable commit. ``set_ref`` is the same CAS.
- ``next_pr_number``: one ``UPDATE … RETURNING`` increments and reads.
- ``mirror_commit``: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` decides who writes the files.
- blobs, git objects, remote refs: single upserts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ...errors import (
    EntryNotFoundError,
    InvalidFilenameError,
    RefExistsError,
    WriteConflictError,
)
from ...ids import CommitSha, Sha256
from ..meta import HubStore
from ..records import (
    BlobInfo,
    CommitRecord,
    FileChange,
    FileEntry,
    RefKind,
    RefRecord,
)
from .database import ConstraintError, Row, Tx
from .store import SqlDatabase


def _folder_bounds(folder: str) -> tuple[str, str]:
    """``[lo, hi)`` such that every path under ``folder/`` sorts inside it ('0' follows '/')."""
    folder = folder.rstrip("/")
    return folder + "/", folder + "0"


class SqlHubStore(SqlDatabase, HubStore):
    _PK = "(SELECT pk FROM commits WHERE hub_repo = ? AND sha = ?)"

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

    @staticmethod
    def _file(row: Row) -> FileEntry:
        return FileEntry(
            path=row["path"],
            sha256=Sha256(row["sha256"]),
            size=row["size"],
            git_oid=row["git_oid"],
            lfs=bool(row["lfs"]),
        )

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

    def file_with_sha256(
        self, hub_repo: int, commit: CommitSha, sha256: Sha256
    ) -> FileEntry | None:
        row = self._one(
            f"SELECT * FROM files WHERE commit_pk = {self._PK} "  # noqa: S608
            "AND sha256 = ? ORDER BY path LIMIT 1",
            (hub_repo, commit, sha256),
        )
        return None if row is None else self._file(row)

    def count_files(self, hub_repo: int, commit: CommitSha) -> int:
        row = self._one(
            f"SELECT COUNT(*) AS n FROM files WHERE commit_pk = {self._PK}",  # noqa: S608
            (hub_repo, commit),
        )
        return 0 if row is None else int(row["n"])

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
