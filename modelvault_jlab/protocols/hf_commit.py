"""The Hub's NDJSON commit body -> commit operations.

One JSON object per line: a ``header`` then ``file`` (inline base64 content), ``lfsFile`` (an
uploaded object), ``deletedFile`` and ``deletedFolder`` lines. Inline content is decoded line by
line and stored in batches, so memory stays bounded by one batch however large the commit is, and
the store can make a whole batch durable at once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from ..core.content import git_blob_oid
from ..core.hub.write import DeletePath, Operation, PutFile
from ..errors import InvalidInputError
from ..storage.records import BlobInfo
from ..strict_json import parse_json

BATCH_BYTES = 64 * 1024 * 1024
BATCH_FILES = 1024

Store = Callable[[Sequence[bytes]], list[BlobInfo]]


def parse_commit(
    body: IO[bytes], line_limit: int, store: Store
) -> tuple[dict[str, Any], list[Operation]]:
    """Read a commit body; inline files are stored through ``store`` as they are read.

    Raises:
        InvalidInputError: a malformed line, an unknown operation, an over-long line.
    """
    header: dict[str, Any] = {}
    operations: list[Operation | None] = []
    pending: list[tuple[int, str, bytes]] = []
    pending_bytes = 0

    def flush() -> None:
        nonlocal pending_bytes
        if not pending:
            return
        infos = store([data for _, _, data in pending])
        for (index, path, data), info in zip(pending, infos, strict=True):
            operations[index] = PutFile(path, info.sha256, info.size, git_blob_oid(data))
        pending.clear()
        pending_bytes = 0

    for number, line in enumerate(_lines(body, line_limit), start=1):
        key, value = _item(line, number)
        if key == "header":
            header = value
        elif key == "file":
            path, data = _inline(value, number)
            pending.append((len(operations), path, data))
            pending_bytes += len(data)
            operations.append(None)
            if pending_bytes >= BATCH_BYTES or len(pending) >= BATCH_FILES:
                flush()
        elif key == "lfsFile":
            if value.get("algo", "sha256") != "sha256" or not isinstance(value.get("oid"), str):
                raise InvalidInputError(f"Line {number}: lfsFile needs a sha256 'oid'.")
            size = value.get("size")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
                raise InvalidInputError(f"Line {number}: lfsFile 'size' must be an integer.")
            operations.append(PutFile(_str(value, "path", number), value["oid"], size, None))
        elif key == "deletedFile":
            operations.append(DeletePath(_str(value, "path", number), folder=False))
        elif key == "deletedFolder":
            operations.append(DeletePath(_str(value, "path", number).rstrip("/"), folder=True))
        else:
            raise InvalidInputError(f"Line {number}: unknown operation {key!r}.")
    flush()
    return header, [op for op in operations if op is not None]


def _inline(value: dict[str, Any], number: int) -> tuple[str, bytes]:
    path = _str(value, "path", number)
    if value.get("encoding", "base64") != "base64":
        raise InvalidInputError(f"Line {number}: only base64 content is supported.")
    try:
        return path, base64.b64decode(_str(value, "content", number), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(f"Line {number}: content of {path} is not valid base64.") from None


def _lines(body: IO[bytes], limit: int) -> Iterator[bytes]:
    number = 0
    while True:
        line = body.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            raise InvalidInputError(
                f"Line {number} of the commit is longer than {limit} bytes: "
                "large files must be uploaded through LFS."
            )
        if line.strip():
            yield line


def _item(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    item = parse_json(line, len(line), f"Line {number} of the commit")
    if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
        raise InvalidInputError(f"Line {number}: expected {{'key': …, 'value': {{…}}}}.")
    return str(item.get("key")), item["value"]


def _str(value: dict[str, Any], field: str, number: int) -> str:
    v = value.get(field)
    if not isinstance(v, str):
        raise InvalidInputError(f"Line {number}: '{field}' must be a string.")
    return v
