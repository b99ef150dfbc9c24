"""Versioned schema migrations: applied once under a lock, legacy data dirs open unchanged, and a
server that must not migrate refuses to start on an old schema."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.storage.records import RepositoryRecord
from modelvault_jlab.storage.sql.database import open_database
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from modelvault_jlab.storage.sql.migrations import (
    LATEST,
    MIGRATIONS,
    SchemaOutOfDateError,
    ensure_current,
    migrate,
    status,
)
from tests.storage.test_sql_stores import _race


def test_migrate_once_even_when_replicas_start_together(database_url: str) -> None:
    dbs = [open_database(database_url) for _ in range(4)]
    try:
        results = _race(4, lambda i: migrate(dbs[i]))
        assert not [r for r in results if isinstance(r, BaseException)], results
        applied = [m.version for r in results if isinstance(r, list) for m in r]
        assert sorted(applied) == [m.version for m in MIGRATIONS]  # each exactly once
        state = status(dbs[0])
        assert state.current == LATEST and state.pending == () and not state.ahead
        ensure_current(dbs[0])
        assert migrate(dbs[1]) == []
        rows = dbs[0].query("SELECT value FROM settings WHERE name = 'schema_version'")
        assert rows == [{"value": "1"}]
    finally:
        for db in dbs:
            db.close()


def test_a_behind_or_ahead_schema_is_refused(database_url: str) -> None:
    db = open_database(database_url)
    try:
        with pytest.raises(SchemaOutOfDateError, match="modelvault db migrate"):
            ensure_current(db)
        migrate(db)
        with db.transaction() as tx:
            tx.execute(
                "INSERT INTO schema_migrations(version, description, applied_at) VALUES (?, ?, ?)",
                (LATEST + 1, "from the future", 0.0),
            )
        with pytest.raises(SchemaOutOfDateError, match="upgrade ModelVault"):
            ensure_current(db)
    finally:
        db.close()


def _legacy_data_dir(root: Path) -> None:
    """A data dir as the code before migrations left it: the baseline tables, settings.
    schema_version = 1, no schema_migrations and no leases table."""
    root.mkdir(parents=True)
    con = sqlite3.connect(root / "metadata.sqlite3")
    con.executescript(MIGRATIONS[0].sql)
    con.execute(
        "INSERT INTO repositories(key, kind, description, public, config, created_at) "
        "VALUES ('old', 'hf-local', 'kept', 1, '{\"a\": 1}', 12.5)"
    )
    con.commit()
    con.close()


def test_legacy_sqlite_data_dir_opens_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    _legacy_data_dir(root)
    vault = open_vault(VaultSettings(data_dir=str(root), default_hf_repository=""))
    try:
        old = vault.meta.get_repository("old")
        assert old == RepositoryRecord("old", "hf-local", "kept", True, {"a": 1}, 12.5)
        assert vault.meta.acquire_lease("job", "me", 30)  # the new table exists
        assert vault.meta.get_setting("schema_version") == "1"
    finally:
        vault.close()
    db = open_database(root / "metadata.sqlite3")
    try:
        assert status(db).applied == tuple(m.version for m in MIGRATIONS)
    finally:
        db.close()


def test_no_migrate_on_start_fails_clearly_then_cli_migrates(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    _legacy_data_dir(root)
    settings = VaultSettings(data_dir=str(root), database_migrate_on_start=False)
    with pytest.raises(SchemaOutOfDateError, match="modelvault db migrate"):
        open_vault(settings)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "modelvault_jlab.cli", "db", *args, "--data-dir", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )

    before = cli("status")
    assert before.returncode == 1 and f"pending {LATEST:4d}" in before.stdout
    assert "schema version: 0" in before.stdout
    done = cli("migrate")
    assert done.returncode == 0, done.stderr
    assert f"schema version: {LATEST}" in done.stdout and "pending" not in done.stdout
    assert cli("status").returncode == 0
    vault = open_vault(settings)
    vault.close()


def test_cli_db_status_on_postgresql_hides_the_password(postgres_url: str, tmp_path: Path) -> None:
    url = postgres_url.replace("postgres@", "postgres:hunter2-pw@")
    SqlMetadataStore(url).close()  # migrates
    out = subprocess.run(
        [sys.executable, "-m", "modelvault_jlab.cli", "db", "status", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={"MODELVAULT_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "postgresql postgresql://postgres:***@127.0.0.1" in out.stdout
    assert "hunter2" not in out.stdout + out.stderr
    assert not (tmp_path / "metadata.sqlite3").exists()


def test_case_variant_repo_ids_left_by_old_versions_stay_reachable(database_url: str) -> None:
    """Migration 5 makes Hub repo ids unique case-insensitively. Case variants made before it
    are kept (nothing is lost), each reachable by its exact id; any other variant resolves to
    the oldest one, and no new variant can be created."""
    from modelvault_jlab.errors import RepoExistsError
    from modelvault_jlab.storage.sql.migrations import _TABLE

    db = open_database(database_url)
    try:
        with db.transaction() as tx:  # a database as version 4 left it
            for statement in db.schema(_TABLE):
                tx.execute(statement)
            for m in [m for m in MIGRATIONS if m.version <= 4]:
                for statement in db.schema(m.sql):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_migrations(version, description, applied_at) "
                    "VALUES (?, ?, 0)",
                    (m.version, m.description),
                )
            tx.execute(
                "INSERT INTO repositories(key, kind, created_at) VALUES ('models', 'hf-local', 0)"
            )
            for repo_id in ("alice/Tiny", "alice/tiny"):
                tx.execute(
                    "INSERT INTO hub_repos(repository, repo_type, repo_id, private, created_at, "
                    "created_by) VALUES ('models', 'model', ?, 1, 0, 'old')",
                    (repo_id,),
                )
        assert migrate(db)  # applies 5 on top of the duplicates
    finally:
        db.close()
    store = SqlMetadataStore(database_url)
    try:
        first = store.get_hub_repo("models", "model", "alice/Tiny")
        second = store.get_hub_repo("models", "model", "alice/tiny")
        assert first is not None and second is not None and first.id != second.id
        variant = store.get_hub_repo("models", "model", "ALICE/TINY")
        assert variant is not None and variant.id == first.id  # the oldest
        with pytest.raises(RepoExistsError, match="case-insensitive"):
            store.create_hub_repo("models", "model", "Alice/TINY", True, "new", None)
        created = store.create_hub_repo("models", "model", "bob/Net", True, "new", None)
        found = store.get_hub_repo("models", "model", "BOB/net")
        assert found is not None and found.id == created.id and found.repo_id == "bob/Net"
    finally:
        store.close()
