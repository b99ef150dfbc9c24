"""Filesystem blob store: ``<root>/sha256/ab/cd/<sha256>``, written through ``<root>/tmp``.

A writer streams into a uniquely named temp file on the same filesystem, hashing as it goes. On
commit it checks the digest and size, fsyncs the file, renames it into place with ``os.replace``
(atomic on POSIX) and fsyncs the directory, so a crash at any point leaves either no blob or a
complete one. Temp files of killed writers are removed by :meth:`FsBlobStore.cleanup_incomplete`,
which the server calls at start-up; a writer holds its temp file's lock until the file was renamed
into place or removed (:mod:`.tempfiles`), so the clean-up never takes a live writer's file. Blobs
are read-only to the server's account (0400), temp files 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ..errors import BlobNotFoundError, StorageError
from ..ids import Sha256, is_sha256
from .blobs import BlobStore, BlobWriter
from .records import BlobInfo
from .tempfiles import create_locked, remove_orphans
from .write_behind import WriteBehind


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FsBlobWriter(BlobWriter):
    def __init__(self, store: FsBlobStore, expected_sha256: Sha256 | None = None) -> None:
        super().__init__(expected_sha256)
        self._store = store
        self._tmp_path, fd = create_locked(store.tmp_dir)
        # The descriptor holds the temp file's lock: it stays open until the rename (or unlink).
        self._file: BinaryIO | None = os.fdopen(fd, "wb", buffering=0)
        self._done = False
        self._write_behind = WriteBehind(fd)  # the disk write overlaps the transfer

    def _write(self, data: bytes | memoryview) -> None:
        if self._file is None:
            raise StorageError("write after commit or abort")
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            view = view[n or 0 :]
        self._write_behind.written(self.bytes_written)

    @property
    def partial_path(self) -> Path:
        """The temp file being written (other replicas on this folder read it while it grows)."""
        return self._tmp_path

    def open_partial(self) -> BinaryIO:
        # The descriptor follows the inode through the rename at commit.
        return self._tmp_path.open("rb")

    def commit(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        if self._file is None:
            raise StorageError("commit after commit or abort")
        try:
            sha = self.verify(expected_sha256, expected_size).sha256
            final = self._store.path_for(sha)
            if final.exists():
                # Already stored once: identical content is never stored twice.
                self.abort()
                return BlobInfo(sha, self.bytes_written)
            self._file.flush()
            os.fsync(self._file.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.fchmod(self._file.fileno(), 0o400)
            os.replace(self._tmp_path, final)
            _fsync_dir(final.parent)
            self._done = True
            self._file.close()  # releases the lock only now that the name is gone
            self._file = None
            return BlobInfo(sha, self.bytes_written)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(FileNotFoundError):
            self._tmp_path.unlink()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


class FsBlobStore(BlobStore):
    """Content-addressed blobs in a local folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.objects_dir = self.root / "sha256"
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tmp_dir.mkdir(mode=0o700, exist_ok=True)
        self.objects_dir.mkdir(mode=0o700, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            # Every caller validates first; this is the last line before a path is built.
            raise StorageError("invalid blob address")
        return self.objects_dir / sha256[:2] / sha256[2:4] / sha256

    def open_writer(self, expected_sha256: Sha256 | None = None) -> FsBlobWriter:
        return FsBlobWriter(self, expected_sha256)

    def exists(self, sha256: Sha256) -> bool:
        return self.path_for(sha256).is_file()

    def size(self, sha256: Sha256) -> int:
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(f"Blob {sha256} is not stored.") from None

    def open_reader(self, sha256: Sha256) -> BinaryIO:
        try:
            return self.path_for(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(f"Blob {sha256} is not stored.") from None

    def local_path(self, sha256: Sha256) -> Path:
        """The file holding the blob (for scanners that need random access)."""
        path = self.path_for(sha256)
        if not path.is_file():
            raise BlobNotFoundError(f"Blob {sha256} is not stored.")
        return path

    def put_many(self, values: Sequence[bytes]) -> list[BlobInfo]:
        """Write every value to a temp file, make the batch durable with one sync, then publish
        each by rename and sync again: two flushes for the batch instead of two per value (a
        commit of 10,000 small files otherwise spends most of its time in fsync)."""
        infos: list[BlobInfo] = []
        pending: list[tuple[Path, Path]] = []
        # One locked temp folder for the batch: one descriptor however many values.
        batch, lock = create_locked(self.tmp_dir, mode=0o700, folder=True)
        try:
            for value in values:
                sha = Sha256(hashlib.sha256(value).hexdigest())
                infos.append(BlobInfo(sha, len(value)))
                final = self.path_for(sha)
                if final.exists():
                    continue
                tmp = batch / str(len(pending))
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
                try:
                    view = memoryview(value)
                    while view:
                        view = view[os.write(fd, view) :]
                finally:
                    os.close(fd)
                pending.append((tmp, final))
            if pending:
                os.sync()  # the data is durable before any rename can publish it
                for tmp, final in pending:
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp, final)
                os.sync()  # and so are the renames
        finally:
            shutil.rmtree(batch, ignore_errors=True)
            os.close(lock)
        return infos

    def delete(self, sha256: Sha256) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_for(sha256).unlink()

    def cleanup_incomplete(self, older_than_seconds: float = 0.0) -> int:
        """Remove temp files whose writer is gone (see :mod:`.tempfiles`)."""
        return remove_orphans(self.tmp_dir, older_than_seconds)
