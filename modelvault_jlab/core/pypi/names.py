"""Project names (PEP 503/508) and distribution filenames (wheel, sdist).

Names and filenames arrive from URLs, upload forms and upstream pages. They never become
filesystem paths (blobs are addressed by sha256), but they are validated strictly anyway, once, so
that no ``..``, separator, NUL or control character reaches storage, logs or upstream URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import InvalidFilenameError, InvalidInputError

MAX_FILENAME_LENGTH = 255
# PEP 508 names: letters, digits, '.', '_', '-', starting and ending with a letter or digit.
_NAME_RE = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_NORMALIZE_RE = re.compile(r"[-_.]+")
# Characters a distribution filename may contain: PEP 427/625 filenames plus local versions ('+')
# and the '!' of epochs. Anything else (separators, '%', NUL, spaces) is refused.
_FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
_WHEEL_RE = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?"
    r"-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")
_VERSION_RE = re.compile(r"^v?[0-9!][A-Za-z0-9.+!_-]*$")


def normalize(name: str) -> str:
    """PEP 503 normalized form: ``My.Private_Pkg`` -> ``my-private-pkg``."""
    return _NORMALIZE_RE.sub("-", name).lower()


def validate_project_name(name: str) -> str:
    """Return the normalized name, or raise InvalidInputError for anything not PEP 508."""
    if len(name) > 200 or not _NAME_RE.match(name):
        raise InvalidInputError(
            f"Invalid project name {name[:80]!r}: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit."
        )
    return normalize(name)


@dataclass(frozen=True)
class DistFilename:
    """What a distribution filename says about its content."""

    filename: str
    name: str
    """Normalized project name."""
    version: str
    packagetype: str
    """``bdist_wheel`` or ``sdist``."""
    python_tag: str
    """Wheel python tag (``py3``), or ``source`` for an sdist."""


def validate_filename(filename: str) -> str:
    """Refuse any filename that could be read as a path or carries odd characters."""
    shown = filename[:120]
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidFilenameError(f"Invalid filename {shown!r}: 1-255 characters expected.")
    if not _FILENAME_RE.match(filename) or ".." in filename:
        raise InvalidFilenameError(
            f"Invalid filename {shown!r}: only letters, digits, '.', '_', '-', '+' and '!' are "
            "allowed, and no '..'."
        )
    return filename


def parse_filename(filename: str) -> DistFilename:
    """Parse a wheel (PEP 427) or sdist (PEP 625, and legacy ``name-1.0.tar.gz``) filename.

    Raises:
        InvalidFilenameError: unsafe characters, or neither a wheel nor an sdist name.
    """
    validate_filename(filename)
    m = _WHEEL_RE.match(filename)
    if m:
        version = m.group("version")
        if not _VERSION_RE.match(version) or not _NAME_RE.match(m.group("name")):
            raise InvalidFilenameError(f"Invalid wheel filename {filename[:120]!r}.")
        return DistFilename(
            filename, normalize(m.group("name")), version, "bdist_wheel", m.group("py")
        )
    suffix = next((s for s in SDIST_SUFFIXES if filename.endswith(s)), None)
    if suffix is None:
        raise InvalidFilenameError(
            f"Invalid filename {filename[:120]!r}: expected a wheel (.whl) or an sdist "
            f"({', '.join(SDIST_SUFFIXES)})."
        )
    stem = filename[: -len(suffix)]
    # Legacy sdists may have '-' in the name: the version starts at the last '-' before a digit.
    parts = stem.split("-")
    for i in range(len(parts) - 1, 0, -1):
        if _VERSION_RE.match(parts[i]) and parts[i][:1].isdigit():
            name, version = "-".join(parts[:i]), "-".join(parts[i:])
            if _NAME_RE.match(name) and _VERSION_RE.match(version):
                return DistFilename(filename, normalize(name), version, "sdist", "source")
    raise InvalidFilenameError(f"Invalid sdist filename {filename[:120]!r}: no '-<version>'.")


def version_of(filename: str) -> str | None:
    """The version in a filename, or None when it does not parse (foreign upstream files)."""
    try:
        return parse_filename(filename).version
    except InvalidInputError:
        return None
