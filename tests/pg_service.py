"""A throwaway PostgreSQL cluster for tests: ``initdb`` into a temp dir, ``postgres`` on a free
127.0.0.1 port with its socket in that dir, stopped at session end. Each test gets a fresh
database (``CREATE DATABASE``), so tests are isolated without a cluster each.

As root, the server runs as the ``postgres`` OS user (PostgreSQL refuses to run as root), in a
directory under /tmp chowned to it (pytest's own temp dirs are private to root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port


def _bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb): run scripts/test-all.sh")
    return Path(initdb).parent


class PostgresCluster:
    """One ``postgres`` process; ``url(db)`` gives libpq URLs (trust auth, no password)."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.base = Path(tempfile.mkdtemp(prefix="modelvault-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.base, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        out = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if out.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {out.stdout}{out.stderr}{tail}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            # a linguistic default collation, so tests prove the schema's COLLATE "C"
            "--locale-provider=icu",
            "--icu-locale=en-US",
            "--locale=C.UTF-8",
        )
        for attempt in range(5):
            try:
                self._pg_ctl_start()
                return
            except RuntimeError as exc:
                # another test worker took the port between free_port() and the bind
                if "already in use" not in str(exc) or attempt == 4:
                    raise
                self.port = free_port()

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.base / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A fresh, empty database of the session's cluster."""
    return postgres_cluster.create_database()
