"""Pinning: turn a requested component into content-pinned manifest entries, each with the
gate's decision under current policy (licence and custom code per repo, scan per file, package
decisions; waivers apply)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from ...errors import ConflictError, NotFoundError
from ...ids import Sha256
from ...storage.bundles import BundleStore
from ...storage.meta import MetadataStore
from ...storage.packages import PackageStore
from ...storage.records import FileEntry, RepositoryRecord
from ..content import ContentStore
from ..governance.gate import Gate
from ..governance.policy.engine import Decision
from ..governance.subject import Subject
from ..hub.judge import Judge, subject_of
from ..hub.read import HubService
from ..hub.refs import HubRef
from ..identity import AccessPolicy, Principal
from ..pypi.names import normalize
from .manifest import (
    Component,
    FileComponent,
    HubComponent,
    PackageComponent,
    PinnedFile,
    validate_file_name,
)

CARD_KEYS = (
    "license",
    "license_name",
    "license_link",
    "base_model",
    "pipeline_tag",
    "library_name",
    "tags",
    "datasets",
    "language",
)
_FILES_REPOSITORY = RepositoryRecord(key="files", kind="files")


class PinSources(Protocol):
    """What pinning reads (the bundle service provides it)."""

    meta: MetadataStore
    packages: PackageStore
    store: BundleStore
    content: ContentStore
    access: AccessPolicy
    gate: Gate
    judge: Judge
    hub: HubService


async def pin_hub(
    svc: PinSources, who: Principal, item: dict[str, Any]
) -> list[tuple[Component, Decision]]:
    """A Hub repo at a commit with every file, judged like a download of each (the one judge:
    licence, base-model lineage, custom code, scan verdicts). A repo blocked at repo level is
    refused before any file needs to be in the vault."""
    ref = HubRef.parse(
        str(item.get("repository", "")), item.get("repo_type"), str(item.get("repo_id", ""))
    )
    revision = item.get("revision")
    resolved = await svc.hub.resolve(who, ref, str(revision) if revision else None)
    subject = subject_of(ref.repository, resolved)
    decision = await svc.judge.repo_decision(subject, resolved)
    files: list[PinnedFile] = []
    card: dict[str, Any] = {}
    if decision.blocking is None:
        entries: list[FileEntry] = []
        after: str | None = None
        while True:
            page = svc.meta.list_files(resolved.repo.id, resolved.commit.sha, "", after, 1000)
            entries += page
            if len(page) < 1000:
                break
            after = page[-1].path
        for e in entries:
            sha = svc.hub.content_sha(resolved, e)
            if sha is None or svc.content.known(sha) is None:
                raise ConflictError(
                    f"{ref.repo_type} {ref.repo_id}@{resolved.commit.sha[:12]}: {e.path} is not "
                    "stored in this vault (download it once through the vault first).",
                    path=e.path,
                )
            files.append(PinnedFile(e.path, sha, e.size, e.git_oid, e.lfs))
            judged = await svc.judge.file(subject, resolved, e, scan=True)
            decision = decision.merge(judged.decision)
        card = _card((await svc.hub.card(resolved)).data)
    comp = HubComponent(
        repository=resolved.source.key,
        repo_type=ref.repo_type,
        repo_id=ref.repo_id,
        commit=resolved.commit.sha,
        title=resolved.commit.title,
        author=resolved.commit.author,
        committed_at=float(resolved.commit.created_at),
        files=tuple(files),
        card=card,
    )
    return [(comp, decision)]


def _card(card: dict[str, Any]) -> dict[str, Any]:
    """What a manifest keeps of a model card (its size is bounded by :mod:`..hub.cards`)."""
    kept = {k: card[k] for k in CARD_KEYS if k in card}
    result: dict[str, Any] = json.loads(json.dumps(kept, default=str))
    return result


def package_repository(svc: PinSources, who: Principal, key: str) -> RepositoryRecord:
    """The pypi-local/-remote repository ``key`` packages are pinned from, readable by ``who``."""
    record = svc.meta.get_repository(key)
    if record is None or record.kind not in ("pypi-local", "pypi-remote"):
        raise NotFoundError(f"'{key[:80]}' is not a pypi-local or pypi-remote repository.")
    svc.access.require(who, "read", key)
    return record


async def pin_packages(
    svc: PinSources, who: Principal, item: dict[str, Any]
) -> list[tuple[Component, Decision]]:
    key = str(item.get("repository", ""))
    record = package_repository(svc, who, key)
    project = normalize(str(item.get("name", "")))
    version = str(item.get("version", ""))
    filename = item.get("filename")
    out: list[tuple[Component, Decision]] = []
    for f in svc.packages.list_files(key, project):
        if f.version != version or (filename and f.filename != filename):
            continue
        if svc.content.known(Sha256(f.sha256)) is None:
            raise ConflictError(f"{f.filename} is not stored in this vault.")
        meta_size = None
        metadata: str | None = None
        if f.metadata_sha256:
            meta_info = svc.content.require(Sha256(f.metadata_sha256))
            meta_size = meta_info.size
            if meta_size <= 4 << 20:
                with svc.content.blobs.open_reader(meta_info.sha256) as fh:
                    metadata = fh.read().decode("utf-8", "replace")
        scan = await svc.gate.scan_async(Sha256(f.sha256), f.filename)
        subject = Subject(key, record, "package", f.filename, f.sha256)
        decision = await asyncio.to_thread(
            svc.gate.package_decision, subject, f.filename, f.sha256, metadata, scan
        )
        comp = PackageComponent(
            repository=key,
            project=f.project,
            display_name=f.display_name or f.project,
            version=f.version,
            filename=f.filename,
            sha256=f.sha256,
            size=f.size,
            requires_python=f.requires_python,
            metadata_sha256=f.metadata_sha256,
            metadata_size=meta_size,
        )
        out.append((comp, decision))
    if not out:
        raise NotFoundError(f"No files of {project} {version[:40]} in '{key}'.")
    return out


async def pin_file(svc: PinSources, item: dict[str, Any]) -> list[tuple[Component, Decision]]:
    name = validate_file_name(str(item.get("name", "")))
    record = svc.store.get_file(name)
    if record is None or svc.content.known(Sha256(record.sha256)) is None:
        raise NotFoundError(f"No generic file '{name}' in this vault.")
    scan = await svc.gate.scan_async(Sha256(record.sha256), name)
    subject = Subject("files", _FILES_REPOSITORY, "file", name, record.sha256)
    entry = FileEntry(name, Sha256(record.sha256), record.size, "", False)
    decision = svc.gate.file_decision(subject, entry, scan)
    return [(FileComponent(name, record.sha256, record.size), decision)]
