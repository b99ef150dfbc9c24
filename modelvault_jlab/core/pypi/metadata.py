"""Core metadata (``METADATA`` / ``PKG-INFO``) read from distribution files.

Files are read through a seekable file object: ``zipfile`` reads the central directory at the end
and then only the one member, and sdists are read as a stream (``r|*``) that stops at
``PKG-INFO``. Nothing loads a whole distribution into memory, and every read is bounded, so a zip
bomb or a pathological tarball costs at most :data:`MAX_METADATA_BYTES`.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import IO, BinaryIO

from ...errors import InvalidInputError

MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_SDIST_MEMBERS = 10_000
_WHEEL_METADATA_RE = re.compile(r"^[^/]+\.dist-info/METADATA$")
_SDIST_PKG_INFO_RE = re.compile(r"^[^/]+/PKG-INFO$")


@dataclass(frozen=True)
class CoreMetadata:
    name: str
    version: str
    metadata_version: str
    requires_python: str | None
    dynamic: tuple[str, ...]


def parse_core_metadata(data: bytes) -> CoreMetadata:
    """Parse the RFC 822 header block of a METADATA/PKG-INFO file.

    Raises:
        InvalidInputError: no ``Name`` or ``Version`` header.
    """
    headers = BytesHeaderParser(policy=compat32).parsebytes(data)
    name = (headers.get("Name") or "").strip()
    version = (headers.get("Version") or "").strip()
    if not name or not version:
        raise InvalidInputError("The distribution's core metadata lacks 'Name' or 'Version'.")
    requires_python = (headers.get("Requires-Python") or "").strip() or None
    return CoreMetadata(
        name=name,
        version=version,
        metadata_version=(headers.get("Metadata-Version") or "").strip(),
        requires_python=requires_python,
        dynamic=tuple(str(v).strip() for v in headers.get_all("Dynamic") or ()),
    )


def _bounded_read(f: IO[bytes], what: str) -> bytes:
    data = f.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise InvalidInputError(f"{what} is larger than {MAX_METADATA_BYTES} bytes.")
    return data


def wheel_metadata(f: BinaryIO) -> bytes:
    """The ``<name>-<ver>.dist-info/METADATA`` bytes of a wheel (PEP 658 body).

    Raises:
        InvalidInputError: not a zip archive, or not exactly one METADATA at the root.
    """
    try:
        with zipfile.ZipFile(f) as z:
            names = [n for n in z.namelist() if _WHEEL_METADATA_RE.match(n)]
            if len(names) != 1:
                raise InvalidInputError(
                    "Invalid wheel: expected exactly one '*.dist-info/METADATA' at the root, "
                    f"found {len(names)}."
                )
            with z.open(names[0]) as member:
                return _bounded_read(member, "The wheel's METADATA")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"Invalid wheel: not a readable zip archive ({exc}).") from None


def sdist_pkg_info(f: BinaryIO, filename: str) -> bytes:
    """The top-level ``PKG-INFO`` of an sdist (``.tar.gz``/``.zip``…), read as a stream.

    Raises:
        InvalidInputError: unreadable archive or no ``<top>/PKG-INFO``.
    """
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(f) as z:
                names = [n for n in z.namelist() if _SDIST_PKG_INFO_RE.match(n)]
                if not names:
                    raise InvalidInputError("Invalid sdist: no top-level PKG-INFO.")
                with z.open(sorted(names)[0]) as member:
                    return _bounded_read(member, "The sdist's PKG-INFO")
        with tarfile.open(fileobj=f, mode="r|*") as tar:
            for count, entry in enumerate(tar):
                if count >= MAX_SDIST_MEMBERS:
                    break
                if entry.isfile() and _SDIST_PKG_INFO_RE.match(entry.name):
                    extracted = tar.extractfile(entry)
                    if extracted is None:
                        break
                    return _bounded_read(extracted, "The sdist's PKG-INFO")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"Invalid sdist: not a readable archive ({exc}).") from None
    raise InvalidInputError("Invalid sdist: no top-level PKG-INFO.")


def advertisable(meta: CoreMetadata, packagetype: str) -> bool:
    """Whether PEP 658 metadata may be advertised: wheels always; sdists only when it is static.

    An sdist's PKG-INFO is reliable only from Metadata-Version 2.2 on and without ``Dynamic``
    fields (PEP 643); otherwise the build may produce different metadata.
    """
    if packagetype == "bdist_wheel":
        return True
    try:
        major, minor = (int(x) for x in meta.metadata_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (2, 2) and not meta.dynamic
