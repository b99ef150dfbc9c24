"""Backup and restore of a vault: a consistent snapshot taken while servers run, restored into an
empty data dir only (``modelvault backup DEST`` / ``modelvault restore SRC``).

**What a backup holds** (a folder)::

    metadata.sqlite3          the metadata database as of one transaction (SQLite online backup)
    blobs/sha256/ab/cd/<sha>  every blob that snapshot registers (the folder store's layout)
    bundle-keys/…             the bundle signing keys and trusted keys (bundles verify after restore)
    secrets.key               the key of stored upstream credentials (unless left out)
    MANIFEST.json             written last: sizes and sha256 of everything above

**Consistency.** The database is copied first; the blobs are chosen from *that copy*. A blob is
registered only after its bytes were published and a commit names only registered blobs, so every
blob the snapshot needs exists in the store when the snapshot is taken; a commit that lands after
the snapshot is absent from the backup, with its blobs. A blob the collector deleted meanwhile
(``modelvault gc``) is harmless when the snapshot does not need it either (it is unregistered in
the copy); one the snapshot needs fails the backup with a clear error (run it again).

**Never half-complete.** The manifest is written last (after every byte was flushed, by an atomic
rename): a backup without it is incomplete, and restore refuses it. Restore builds the data dir in
a sibling folder, verifies every file's sha256 and size against the manifest and renames the folder
into place at the end, so an interrupted restore leaves no half data dir either.

Scope: SQLite metadata (PostgreSQL: ``pg_dump``, refused here with guidance) and blobs from any
store (S3 blobs are read through the store and copied into the backup); restore writes a data dir
with SQLite and the blob folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BlobNotFoundError, IntegrityError, InvalidInputError, StorageError
from ..ids import Sha256, is_sha256
from ..storage.blobs import BlobStore
from ..storage.blobs_fs import FsBlobStore
from ..storage.sql.snapshot import SnapshotBlobs, snapshot_sqlite
from ..strict_json import parse_json

log = logging.getLogger(__name__)

MANIFEST = "MANIFEST.json"
DATABASE = "metadata.sqlite3"
SECRETS_KEY = "secrets.key"
BUNDLE_KEYS = "bundle-keys"
FORMAT = "modelvault-backup"
VERSION = 1
_CHUNK = 1 << 20
_MAX_MANIFEST_BYTES = 256 * 1024**2  # ~2.5 million blobs: bounded before parsing
# Key files inside a backup: the secrets key, or one file two levels below bundle-keys/.
_KEY_PATH = re.compile(
    rf"{SECRETS_KEY}|{BUNDLE_KEYS}/(?:signing|trusted)/[A-Za-z0-9_-][A-Za-z0-9._-]{{0,127}}"
)


@dataclass(frozen=True)
class BackupReport:
    path: str
    blobs: int
    bytes: int
    schema_version: int
    unregistered: int
    """Blobs the snapshot registered but did not need and the collector had deleted meanwhile."""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "schema_version": self.schema_version,
            "unregistered": self.unregistered,
        }


@dataclass(frozen=True)
class RestoreReport:
    data_dir: str
    blobs: int
    bytes: int
    schema_version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "schema_version": self.schema_version,
        }


def _blob_path(root: Path, sha256: str) -> Path:
    return root / "blobs" / "sha256" / sha256[:2] / sha256[2:4] / sha256


def _copy_hashing(source: BinaryIO, target: Path) -> tuple[str, int]:
    """Copy ``source`` into the new file ``target`` (0600); its (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _file_entry(root: Path, relative: str) -> dict[str, Any]:
    with (root / relative).open("rb") as f:
        digest, size = hashlib.sha256(), 0
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"path": relative, "sha256": digest.hexdigest(), "size": size}


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _require_empty(folder: Path, what: str) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInputError(f"{what} {folder} is not empty: choose a new or empty folder.")


def backup(
    database: str,
    blobs: BlobStore,
    dest: Path,
    *,
    bundle_key_dir: Path | None,
    secrets_key_file: Path | None,
    after_snapshot: Callable[[], None] = lambda: None,
) -> BackupReport:
    """Back the vault up into the new or empty folder ``dest`` while servers keep running.

    ``database`` is the SQLite file; ``after_snapshot`` runs between the database copy and the
    blob copy (tests interleave a writer there).

    Raises:
        InvalidInputError: ``dest`` is not empty, or the database is not SQLite.
        StorageError: a blob the snapshot needs is missing or corrupt in the store.
    """
    if database.startswith(("postgresql://", "postgres://")):
        raise InvalidInputError(
            "modelvault backup copies SQLite metadata only. For PostgreSQL, take the database "
            "with `pg_dump --format=custom` and the blobs with your storage's own snapshot "
            "(docs/deployment.md, 'Backup and restore')."
        )
    database = database.removeprefix("sqlite:///")
    if not Path(database).is_file():
        raise InvalidInputError(f"No metadata database at {database}.")
    _require_empty(dest, "The backup folder")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    snapshot_sqlite(database, dest / DATABASE)
    after_snapshot()
    snap = SnapshotBlobs(dest / DATABASE)
    copied: list[list[Any]] = []
    total = unregistered = 0
    try:
        schema = snap.schema_version()
        for sha, size in snap.registered():
            if not is_sha256(sha):
                raise StorageError(f"The database registers an invalid blob address {sha[:80]!r}.")
            try:
                reader = blobs.open_reader(Sha256(sha))
            except BlobNotFoundError:
                if snap.forget_unneeded(sha):  # collected meanwhile, and unneeded in the copy too
                    unregistered += 1
                    continue
                raise StorageError(
                    f"Blob {sha} is needed by the snapshot but missing from the blob store "
                    "(collected while the backup ran?); run the backup again."
                ) from None
            target = _blob_path(dest, sha)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with reader:
                digest, length = _copy_hashing(reader, target)
            if digest != sha or length != size:
                raise StorageError(
                    f"Blob {sha} is corrupt in the blob store (hashes to {digest}, {length} of "
                    f"{size} bytes); nothing was backed up as complete."
                )
            copied.append([sha, size])
            total += size
    finally:
        snap.close()
    files = [_file_entry(dest, DATABASE)]
    files += _copy_keys(dest, bundle_key_dir, secrets_key_file)
    os.sync()  # every byte durable before the manifest can say the backup is complete
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": time.time(),
        "schema_version": schema,
        "files": files,
        "blobs": copied,
    }
    _write_atomically(dest / MANIFEST, json.dumps(manifest, separators=(",", ":")).encode())
    log.info("Backed up %d blob(s), %d bytes, into %s", len(copied), total, dest)
    return BackupReport(str(dest), len(copied), total, schema, unregistered)


def _copy_keys(
    dest: Path, bundle_key_dir: Path | None, secrets_key_file: Path | None
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    if secrets_key_file is not None and secrets_key_file.is_file():
        with secrets_key_file.open("rb") as f:
            _copy_hashing(f, dest / SECRETS_KEY)
        entries.append(_file_entry(dest, SECRETS_KEY))
    if bundle_key_dir is not None and bundle_key_dir.is_dir():
        for sub in ("signing", "trusted"):
            folder = bundle_key_dir / sub
            if not folder.is_dir():
                continue
            (dest / BUNDLE_KEYS / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            for path in sorted(folder.iterdir()):
                relative = f"{BUNDLE_KEYS}/{sub}/{path.name}"
                if not path.is_file() or path.is_symlink() or not _KEY_PATH.fullmatch(relative):
                    continue  # a stray temp file (ACTIVE.<pid>) or something not ours
                with path.open("rb") as f:
                    _copy_hashing(f, dest / relative)
                entries.append(_file_entry(dest, relative))
    return entries


# -- restore --


@dataclass(frozen=True)
class _Manifest:
    schema_version: int
    files: list[tuple[str, str, int]]
    blobs: list[tuple[str, int]]


def _read_manifest(src: Path) -> _Manifest:
    """The manifest of a complete backup, every field checked (a backup is data from disk)."""
    path = src / MANIFEST
    if not path.is_file():
        raise InvalidInputError(
            f"{src} holds no {MANIFEST}: it is not a backup, or the backup was interrupted "
            "(incomplete backups are never restored)."
        )
    with path.open("rb") as f:
        raw = parse_json(f.read(_MAX_MANIFEST_BYTES + 1), _MAX_MANIFEST_BYTES, "The manifest")
    bad = InvalidInputError(f"{path} is not a valid ModelVault backup manifest.")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise bad
    if raw.get("version") != VERSION:
        raise InvalidInputError(f"Backup format version {raw.get('version')!r} is not supported.")
    schema, files, blobs = raw.get("schema_version"), raw.get("files"), raw.get("blobs")
    if not isinstance(schema, int) or not isinstance(files, list) or not isinstance(blobs, list):
        raise bad
    checked_files: list[tuple[str, str, int]] = []
    for entry in files:
        if not isinstance(entry, dict):
            raise bad
        name, sha, size = entry.get("path"), entry.get("sha256"), entry.get("size")
        if not isinstance(name, str) or not isinstance(sha, str) or not isinstance(size, int):
            raise bad
        if (name != DATABASE and not _KEY_PATH.fullmatch(name)) or not is_sha256(sha) or size < 0:
            raise bad
        checked_files.append((name, sha, size))
    if [f[0] for f in checked_files].count(DATABASE) != 1 or len(
        {f[0] for f in checked_files}
    ) != len(checked_files):
        raise bad
    checked_blobs: list[tuple[str, int]] = []
    for entry in blobs:
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not isinstance(entry[0], str)
            or not is_sha256(entry[0])
            or not isinstance(entry[1], int)
            or entry[1] < 0
        ):
            raise bad
        checked_blobs.append((entry[0], entry[1]))
    if len({sha for sha, _ in checked_blobs}) != len(checked_blobs):
        raise bad
    return _Manifest(schema, checked_files, checked_blobs)


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _open_in(src: Path, relative: str) -> BinaryIO:
    path = src / relative
    if path.is_symlink() or not path.is_file():
        raise IntegrityError(f"The backup lacks {relative} (or it is not a plain file).")
    return path.open("rb")


def restore(src: Path, data_dir: Path) -> RestoreReport:
    """Restore the backup ``src`` into ``data_dir``, which must be new or empty.

    Raises:
        InvalidInputError: ``data_dir`` is not empty, ``src`` is not a complete backup.
        IntegrityError: a file of the backup is missing or does not match its sha256 and size.
    """
    manifest = _read_manifest(src)
    _require_empty(data_dir, "The data dir")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = data_dir.parent / f".{data_dir.name}.restoring-{uuid.uuid4().hex[:8]}"
    staging.mkdir(mode=0o700)
    try:
        for name, sha, size in manifest.files:
            target = staging / name
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with _open_in(src, name) as f:
                digest, length = _copy_hashing(f, target)
            if digest != sha or length != size:
                raise IntegrityError(f"{name} in the backup does not match its manifest entry.")
        _check_registered(staging / DATABASE, manifest)
        store = FsBlobStore(staging / "blobs")
        total = 0
        for sha, size in manifest.blobs:
            with (
                _open_in(src, str(_blob_path(Path(), sha))) as f,
                store.open_writer(Sha256(sha)) as writer,
            ):
                for chunk in _chunks(f):
                    writer.write(chunk)
                    if writer.bytes_written > size:
                        break  # longer than recorded: fails the check below without reading on
                try:
                    writer.commit(sha, size)  # verifies sha256 and size, then publishes
                except IntegrityError as exc:
                    raise IntegrityError(
                        f"Blob {sha} of the backup is corrupt: {exc.message}"
                    ) from None
            total += size
        os.sync()
        if data_dir.exists():
            data_dir.rmdir()  # empty (checked above); rename cannot replace it portably
        os.rename(staging, data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("Restored %d blob(s), %d bytes, into %s", len(manifest.blobs), total, data_dir)
    return RestoreReport(str(data_dir), len(manifest.blobs), total, manifest.schema_version)


def _check_registered(database: Path, manifest: _Manifest) -> None:
    """Every blob the restored database registers is in the backup (and nothing else is)."""
    snap = SnapshotBlobs(database)
    try:
        registered = {sha for sha, _ in snap.registered()}
    finally:
        snap.close()
    if registered != {sha for sha, _ in manifest.blobs}:
        raise IntegrityError(
            "The backup's blob list does not match the blobs its database registers."
        )


__all__ = ["BackupReport", "RestoreReport", "backup", "restore"]
