"""Temp files whose owner's liveness is the file's own lock.

A writer holds an exclusive ``flock`` on its temp file (or temp folder) for as long as it may
need it; the kernel drops the lock when the owner's descriptor closes, which happens when the
process dies, before it is reaped. So a temp file whose lock can be taken is orphaned: a killed
writer left as a zombie, or whose PID was reused by another process, never keeps its leftovers
alive (a PID test would). Locks are per open file, so a live writer of this very process is
respected too, and processes sharing one folder (two replicas on one host, separate PID
namespaces included) see each other's locks.

Race between a creator and a cleaner: the cleaner unlinks only while it holds the lock and after
checking that the name still refers to the file it locked; the creator takes its lock right after
creating the file and then checks that its name still refers to it (else a cleaner took the
fresh, still unlocked file for orphaned: it tries another name).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from pathlib import Path

TEMP_PREFIX = "upload-"


def _is_same(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def create_locked(directory: Path, *, mode: int = 0o600, folder: bool = False) -> tuple[Path, int]:
    """A new ``upload-<uuid>`` file (or folder) in ``directory`` and a descriptor holding its lock.

    The temp stays "live" until the descriptor is closed: close it only after the file was
    renamed away or removed.
    """
    while True:
        path = directory / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        if folder:
            os.mkdir(path, mode)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        else:
            # O_EXCL: never write through a pre-existing name (symlink planted in the folder).
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a cleaner looks at it
        if _is_same(fd, path):
            return path, fd
        os.close(fd)


def is_live(path: Path) -> bool:
    """Whether a writer still holds ``path``'s lock (False when the file is gone)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def remove_orphans(directory: Path, older_than_seconds: float = 0.0) -> int:
    """Remove ``upload-*`` temp files and folders in ``directory`` whose lock nobody holds.

    ``older_than_seconds``: spare orphans modified more recently than that.
    """
    removed = 0
    for entry in os.scandir(directory):
        if not entry.name.startswith(TEMP_PREFIX) or entry.is_symlink():
            continue
        path = Path(entry.path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # gone meanwhile, or not ours to open
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            if not _is_same(fd, path):
                continue  # renamed into place (or replaced) meanwhile
            if os.fstat(fd).st_mtime > time.time() - older_than_seconds:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed += 1
        finally:
            os.close(fd)
    return removed


__all__ = ["TEMP_PREFIX", "create_locked", "is_live", "remove_orphans"]
