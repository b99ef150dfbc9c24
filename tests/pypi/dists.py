"""Build small, deterministic wheels and sdists in tests (no network, no build backend)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

_EPOCH = (2020, 1, 1, 0, 0, 0)


def _dist(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def metadata_text(
    name: str,
    version: str,
    *,
    deps: tuple[str, ...] = (),
    requires_python: str | None = ">=3.8",
    classifiers: int = 0,
    metadata_version: str = "2.4",
    license: str | None = "MIT",
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += ["Summary: test package"]
    if license:
        lines.append(f"License-Expression: {license}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {d}" for d in deps]
    lines += [f"Classifier: Topic :: Test :: Item {i}" for i in range(classifiers)]
    return "\n".join(lines) + "\n\n"


def wheel_bytes(
    name: str,
    version: str,
    *,
    deps: tuple[str, ...] = (),
    requires_python: str | None = ">=3.8",
    classifiers: int = 0,
    payload: bytes = b"",
    metadata_name: str | None = None,
    license: str | None = "MIT",
    extra_files: dict[str, bytes] | None = None,
) -> bytes:
    """A pure-Python wheel; ``payload`` adds an uncompressed data file (to make it big/unique)."""
    dist = _dist(name)
    info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": metadata_text(
            metadata_name or name,
            version,
            deps=deps,
            requires_python=requires_python,
            classifiers=classifiers,
            license=license,
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    if payload:
        files[f"{dist}/payload.bin"] = payload
    files.update({f"{dist}/{k}": v for k, v in (extra_files or {}).items()})
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path, data in files.items():
            zi = zipfile.ZipInfo(path, _EPOCH)
            zi.external_attr = 0o644 << 16
            compress = zipfile.ZIP_STORED if path.endswith(".bin") else zipfile.ZIP_DEFLATED
            z.writestr(zi, data, compress_type=compress)
    return out.getvalue()


def wheel_name(name: str, version: str) -> str:
    return f"{_dist(name)}-{version}-py3-none-any.whl"


def sdist_bytes(name: str, version: str, *, requires_python: str | None = ">=3.8") -> bytes:
    dist = _dist(name)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as t:
        members = {
            f"{dist}-{version}/PKG-INFO": metadata_text(
                name, version, requires_python=requires_python
            ).encode(),
            f"{dist}-{version}/{dist}/__init__.py": b"",
        }
        for path, data in members.items():
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mtime = 1577836800
            t.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def write_wheel(folder: Path, name: str, version: str, **kwargs: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / wheel_name(name, version)
    path.write_bytes(wheel_bytes(name, version, **kwargs))  # type: ignore[arg-type]
    return path


def write_sdist(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_dist(name)}-{version}.tar.gz"
    path.write_bytes(sdist_bytes(name, version))
    return path
