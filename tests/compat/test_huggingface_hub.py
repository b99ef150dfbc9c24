"""The stock huggingface_hub 2.4 client against a live ModelVault, standalone and Jupyter-hosted.

These call the real client in-process with ``endpoint=`` and ``token=`` (the same code paths as
``HF_ENDPOINT``/``HF_TOKEN``, which ``test_user_story.py`` exercises through the environment).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub import errors as hf_errors

from tests.servers import RunningServer


def _api(server: RunningServer, token: str | None = None) -> HfApi:
    return HfApi(endpoint=server.hf_endpoint(), token=token or server.admin_token)


def _repo_id(prefix: str = "org") -> str:
    return f"{prefix}/r-{uuid.uuid4().hex[:10]}"


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture
def seeded(server: RunningServer, tmp_path: Path) -> tuple[RunningServer, str, dict[str, bytes]]:
    """A model repo with nested files, a README card and a second commit."""
    api = _api(server)
    repo_id = _repo_id()
    api.create_repo(repo_id)
    files = {
        "config.json": b'{"hidden_size": 8}',
        "README.md": b"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# tiny\n",
        "sub/dir/a b.txt": b"spaces in names",
        "sub/weights.bin": os.urandom(4096),
        "other/x.json": b"{}",
    }
    folder = tmp_path / "upload"
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    api.upload_folder(folder_path=folder, repo_id=repo_id, commit_message="first")
    return server, repo_id, files


def test_upload_download_roundtrip(
    seeded: tuple[RunningServer, str, dict[str, bytes]], tmp_path: Path
) -> None:
    server, repo_id, files = seeded
    api = _api(server)
    assert sorted(api.list_repo_files(repo_id)) == sorted(files)
    for path, data in files.items():
        local = hf_hub_download(
            repo_id,
            path,
            endpoint=server.hf_endpoint(),
            token=server.admin_token,
            cache_dir=tmp_path / "cache",
        )
        assert Path(local).read_bytes() == data
    snap = snapshot_download(
        repo_id,
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path / "snap",
    )
    for path, data in files.items():
        assert (Path(snap) / path).read_bytes() == data


def test_model_info_card_and_siblings(seeded: tuple[RunningServer, str, dict[str, bytes]]) -> None:
    server, repo_id, files = seeded
    info = _api(server).model_info(repo_id, files_metadata=True)
    assert info.id == repo_id
    assert len(info.sha or "") == 40
    assert info.card_data is not None and info.card_data["license"] == "apache-2.0"
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    assert sizes == {p: len(d) for p, d in files.items()}


def test_snapshot_allow_patterns_and_revisions(
    seeded: tuple[RunningServer, str, dict[str, bytes]], tmp_path: Path
) -> None:
    server, repo_id, files = seeded
    api = _api(server)
    first = api.model_info(repo_id).sha
    assert first is not None
    api.create_tag(repo_id, tag="v1")
    api.create_branch(repo_id, branch="dev")
    api.upload_file(
        path_or_fileobj=b"second", path_in_repo="config.json", repo_id=repo_id, revision="dev"
    )
    # a pull request: refs/pr/1, committed with create_pr
    pr = api.create_commit(
        repo_id,
        [CommitOperationAdd("pr-only.txt", b"from the pr")],
        commit_message="pr commit",
        create_pr=True,
    )
    assert pr.pr_revision == "refs/pr/1"

    def snap(revision: str, patterns: list[str] | None = None) -> Path:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=patterns,
                endpoint=server.hf_endpoint(),
                token=server.admin_token,
                cache_dir=tmp_path / uuid.uuid4().hex,
            )
        )

    assert (snap("v1") / "config.json").read_bytes() == files["config.json"]
    assert (snap(first) / "config.json").read_bytes() == files["config.json"]
    assert (snap("dev") / "config.json").read_bytes() == b"second"
    pr_snap = snap("refs/pr/1")
    assert (pr_snap / "pr-only.txt").read_bytes() == b"from the pr"
    assert not (snap("main") / "pr-only.txt").exists()
    only_sub = snap("main", ["sub/*", "sub/**"])
    got = sorted(str(p.relative_to(only_sub)) for p in only_sub.rglob("*") if p.is_file())
    assert got == ["sub/dir/a b.txt", "sub/weights.bin"]
    local = hf_hub_download(
        repo_id,
        "pr-only.txt",
        revision="refs/pr/1",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path / "pr",
    )
    assert Path(local).read_bytes() == b"from the pr"


def test_tree_paths_info_refs_commits(seeded: tuple[RunningServer, str, dict[str, bytes]]) -> None:
    server, repo_id, _ = seeded
    api = _api(server)
    tree = list(api.list_repo_tree(repo_id, recursive=True))
    paths = [e.path for e in tree]
    assert "sub" in paths and "sub/dir" in paths and "sub/dir/a b.txt" in paths
    assert len(paths) == len(set(paths))
    top = sorted(e.path for e in api.list_repo_tree(repo_id))
    assert top == ["README.md", "config.json", "other", "sub"]
    inner = sorted(e.path for e in api.list_repo_tree(repo_id, path_in_repo="sub/dir"))
    assert inner == ["sub/dir/a b.txt"]
    infos = api.get_paths_info(repo_id, ["config.json", "sub", "missing.txt"])
    assert sorted(i.path for i in infos) == ["config.json", "sub"]
    refs = api.list_repo_refs(repo_id)
    assert [b.name for b in refs.branches] == ["main"]
    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["first", "initial commit"]
    assert all(len(c.commit_id) == 40 for c in commits)


def test_tree_pagination_is_absolute_and_complete(server: RunningServer) -> None:
    api = _api(server)
    repo_id = _repo_id()
    api.create_repo(repo_id)
    ops = [CommitOperationAdd(f"d{i % 7}/f{i:05d}.txt", str(i).encode()) for i in range(2500)]
    api.create_commit(repo_id, ops, commit_message="many")
    files = [
        e for e in api.list_repo_tree(repo_id, recursive=True) if e.__class__.__name__ == "RepoFile"
    ]
    assert len(files) == 2500
    assert len({f.path for f in files}) == 2500
    assert len(api.list_repo_files(repo_id)) == 2500


def test_commit_additions_deletions_copies(server: RunningServer, tmp_path: Path) -> None:
    api = _api(server)
    repo_id = _repo_id()
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("a.txt", b"A"),
            CommitOperationAdd("folder/b.txt", b"B"),
            CommitOperationAdd("folder/c.txt", b"C"),
        ],
        commit_message="add",
    )
    api.create_commit(
        repo_id,
        [
            CommitOperationCopy("a.txt", "copy-of-a.txt"),
            CommitOperationDelete("folder/"),
            CommitOperationAdd("new.txt", b"N"),
        ],
        commit_message="copy, delete folder, add",
    )
    assert sorted(api.list_repo_files(repo_id)) == ["a.txt", "copy-of-a.txt", "new.txt"]
    api.delete_file("new.txt", repo_id)
    assert sorted(api.list_repo_files(repo_id)) == ["a.txt", "copy-of-a.txt"]
    with pytest.raises(hf_errors.EntryNotFoundError):
        api.delete_file("never-existed.txt", repo_id)
    got = hf_hub_download(
        repo_id,
        "copy-of-a.txt",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path,
    )
    assert Path(got).read_bytes() == b"A"


def test_lfs_upload_with_xet_disabled(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files above the inline limit go through the LFS batch API (basic transfer)."""
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)
    api = _api(server)
    repo_id = _repo_id()
    api.create_repo(repo_id)
    big = tmp_path / "model.safetensors"
    big.write_bytes(os.urandom(11 * 1024 * 1024))
    api.upload_file(path_or_fileobj=str(big), path_in_repo="model.safetensors", repo_id=repo_id)
    entry = next(iter(api.get_paths_info(repo_id, ["model.safetensors"])))
    assert entry.lfs is not None and entry.lfs.sha256 == _sha256(big)
    got = hf_hub_download(
        repo_id,
        "model.safetensors",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path / "c",
    )
    assert _sha256(got) == _sha256(big)
    # the same object again: the batch answers "already stored", so the bytes are not re-sent
    api.upload_file(path_or_fileobj=str(big), path_in_repo="copy.safetensors", repo_id=repo_id)
    assert sorted(api.list_repo_files(repo_id)) == ["copy.safetensors", "model.safetensors"]
    events = httpx.get(
        server.api("audit"),
        params={"action": "lfs.upload", "subject": _sha256(big)},
        headers=server.headers(),
    ).json()["events"]
    assert len(events) == 1


def test_datasets_and_delete_repo(server: RunningServer, tmp_path: Path) -> None:
    api = _api(server)
    repo_id = _repo_id("data")
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n",
        path_in_repo="train.csv",
        repo_id=repo_id,
        repo_type="dataset",
    )
    info = api.dataset_info(repo_id)
    assert [s.rfilename for s in info.siblings or []] == ["train.csv"]
    got = hf_hub_download(
        repo_id,
        "train.csv",
        repo_type="dataset",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path,
    )
    assert Path(got).read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.model_info(repo_id)  # same id, other type
    api.delete_repo(repo_id, repo_type="dataset")
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.dataset_info(repo_id)


def test_create_repo_exist_ok_and_conflict(server: RunningServer) -> None:
    api = _api(server)
    repo_id = _repo_id()
    url = api.create_repo(repo_id)
    assert str(url).endswith(repo_id)
    assert api.create_repo(repo_id, exist_ok=True).repo_id == repo_id
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        api.create_repo(repo_id)
    assert err.value.response.status_code == 409


def test_typed_errors(seeded: tuple[RunningServer, str, dict[str, bytes]], tmp_path: Path) -> None:
    server, repo_id, _ = seeded
    kw = {"endpoint": server.hf_endpoint(), "token": server.admin_token, "cache_dir": tmp_path}
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        hf_hub_download("org/does-not-exist", "config.json", **kw)
    with pytest.raises(hf_errors.RevisionNotFoundError):
        hf_hub_download(repo_id, "config.json", revision="no-such-branch", **kw)
    with pytest.raises(hf_errors.EntryNotFoundError):
        hf_hub_download(repo_id, "missing.json", **kw)
    with pytest.raises(hf_errors.RevisionNotFoundError):
        _api(server).list_repo_files(repo_id, revision="0" * 40)


def test_anonymous_and_wrong_tokens_are_rejected(
    seeded: tuple[RunningServer, str, dict[str, bytes]], tmp_path: Path
) -> None:
    server, repo_id, _ = seeded
    with pytest.raises(hf_errors.RepositoryNotFoundError) as err:
        hf_hub_download(
            repo_id, "config.json", endpoint=server.hf_endpoint(), token=False, cache_dir=tmp_path
        )
    assert "Authentication required" in str(err.value)
    with pytest.raises(hf_errors.RepositoryNotFoundError) as err:
        HfApi(endpoint=server.hf_endpoint(), token="mvt_0000_nope").model_info(repo_id)
    assert "Invalid token" in str(err.value)


def test_tree_pages_hold_at_most_1000_entries(standalone_server: RunningServer) -> None:
    """Folder entries count toward the page size, and no link points at an empty page."""
    s = standalone_server
    api = _api(s)
    repo_id = _repo_id()
    api.create_repo(repo_id)
    ops = [CommitOperationAdd(f"f{i // 100:02d}/x{i:04d}.txt", b"") for i in range(2000)]
    api.create_commit(repo_id, ops, commit_message="2000 files in 20 folders")
    url: str | None = f"{s.hf_endpoint()}/api/models/{repo_id}/tree/main?recursive=true"
    pages = []
    while url:
        r = httpx.get(url, headers=s.headers())
        pages.append(r.json())
        url = r.links.get("next", {}).get("url")
    assert all(0 < len(p) <= 1000 for p in pages)
    entries = [e["path"] for p in pages for e in p]
    assert len(entries) == len(set(entries)) == 2020


def test_head_on_repo_api(standalone_server: RunningServer) -> None:
    """Mirrors (olah) and scripts probe repos with HEAD, as huggingface.co allows."""
    s = standalone_server
    repo_id = _repo_id()
    _api(s).create_repo(repo_id)
    for path in (f"api/models/{repo_id}", f"api/models/{repo_id}/revision/main"):
        r = httpx.head(f"{s.hf_endpoint()}/{path}", headers=s.headers())
        assert r.status_code == 200 and r.content == b""
    r = httpx.head(f"{s.hf_endpoint()}/api/models/nobody/nothing", headers=s.headers())
    assert r.status_code == 404 and r.headers["x-error-code"] == "RepoNotFound"
