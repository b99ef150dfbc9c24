"""A standalone server with its metadata on PostgreSQL, driven by the stock huggingface_hub."""

from __future__ import annotations

from pathlib import Path

import psycopg
from huggingface_hub import HfApi, hf_hub_download

from tests.servers import running, start_standalone


def test_huggingface_hub_against_postgresql(postgres_url: str, tmp_path: Path) -> None:
    # trust auth ignores the password, which lets the test check that it is never logged
    url = postgres_url.replace("postgres@", "postgres:s3cr3t-pw@")
    data_dir = tmp_path / "vault"
    with running(start_standalone(data_dir, "--database-url", url)) as server:
        api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
        repo_id = "org/on-postgres"
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj=b"hello pg", path_in_repo="a/b.txt", repo_id=repo_id)
        api.upload_file(path_or_fileobj=b"second", path_in_repo="c.txt", repo_id=repo_id)
        api.create_branch(repo_id, branch="dev")
        api.create_tag(repo_id, tag="v1")
        local = hf_hub_download(
            repo_id,
            "a/b.txt",
            endpoint=server.hf_endpoint(),
            token=server.admin_token,
            cache_dir=tmp_path / "cache",
        )
        assert Path(local).read_bytes() == b"hello pg"
        refs = api.list_repo_refs(repo_id)
        assert {b.name for b in refs.branches} == {"main", "dev"}
        assert [t.name for t in refs.tags] == ["v1"]
        log = server.log()
    assert "s3cr3t-pw" not in log
    # the metadata went to PostgreSQL, none to a SQLite file in the data dir
    assert not (data_dir / "metadata.sqlite3").exists()
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM commits c JOIN hub_repos r ON r.id = c.hub_repo "
            "WHERE r.repo_id = %s",
            (repo_id,),
        ).fetchone()
    assert row is not None and row[0] == 3  # initial commit + two uploads
