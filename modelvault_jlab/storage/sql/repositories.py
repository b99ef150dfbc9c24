"""Repositories and Hub repos in SQL: the unique key decides a creation race
(``RepoExistsError``)."""

from __future__ import annotations

import json
import time
from typing import Any

from ...errors import (
    RepoExistsError,
)
from ...ids import RepoType
from ..meta import RepositoryStore
from ..records import (
    CommitRecord,
    HubRepoRecord,
    RepositoryRecord,
)
from .database import ConstraintError, Row
from .store import SqlDatabase


class SqlRepositoryStore(SqlDatabase, RepositoryStore):
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
