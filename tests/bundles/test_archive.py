"""Export, offline verification and import into an air-gapped vault, and every way an archive
can be wrong: each is refused and leaves nothing visible."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import pytest

from modelvault_jlab.core.bundles.archive import _header
from modelvault_jlab.core.bundles.errors import (
    ArchiveInvalidError,
    BundleExistsError,
    SignatureInvalidError,
    UntrustedKeyError,
)
from modelvault_jlab.core.bundles.transfer import begin_import, export_archive
from modelvault_jlab.core.bundles.verify import verify_archive
from modelvault_jlab.core.identity import SYSTEM, Principal
from modelvault_jlab.errors import IntegrityError, PermissionDeniedError
from tests.bundles.conftest import Site, standard_bundle


def export_bytes(site: Site, name: str = "release", version: str = "1.0.0") -> bytes:
    export = export_archive(site.vault.bundles, SYSTEM, name, version)
    data = b"".join(export.chunks)
    assert len(data) == export.size
    return data


def public_key(site: Site) -> str:
    keys = site.vault.bundles.public_keys()
    return next(k["public_key"] for k in keys["keys"] if k["active"])


def members(data: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        out = []
        for m in tar.getmembers():
            f = tar.extractfile(m)
            assert f is not None
            out.append((m.name, f.read()))
        return out


def rebuild(parts: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, data in parts:
        out += _header(name, len(data), 0) + data + b"\0" * (-len(data) % 512)
    return out + b"\0" * 1024


def do_import(site: Site, data: bytes, key: str | None = None, chunk: int = 65536) -> object:
    session = begin_import(site.vault.bundles, SYSTEM, "models", "pypi", key)
    try:
        for i in range(0, len(data), chunk):
            session.feed(data[i : i + chunk])
        return session.finish()
    except BaseException:
        session.abort()
        raise


def assert_nothing_visible(site: Site, exported: Site) -> None:
    view = exported.vault.bundles.get(SYSTEM, "release", "1.0.0")
    assert site.vault.bundles.list_bundles(SYSTEM) == []
    hub = view.manifest.components[0]
    assert site.vault.meta.get_hub_repo("models", "model", hub.repo_id) is None  # type: ignore[union-attr]
    assert site.vault.bundles.packages.list_projects("pypi") == []
    for sha in view.manifest.blobs():
        assert site.vault.content.known(sha) is None  # type: ignore[arg-type]
    leftovers = [p for p in (site.root / "blobs").rglob("*") if p.is_file()]
    assert not any(p.name in view.manifest.blobs() for p in leftovers)


def test_export_verify_offline_and_import(site: Site, airgap: Site, tmp_path: Path) -> None:
    view = standard_bundle(site)
    site.vault.bundles.promote(SYSTEM, "release", "1.0.0", "DEV")
    data = export_bytes(site)
    assert export_bytes(site) == data  # deterministic
    archive = tmp_path / "release.tar"
    archive.write_bytes(data)
    raw = base64.b64decode(public_key(site))
    from modelvault_jlab.core.bundles.signing import key_id_of

    report = verify_archive(str(archive), {key_id_of(raw): raw})
    assert report["digest"] == view.record.digest and report["promotions"] == 1
    with pytest.raises(UntrustedKeyError):
        do_import(airgap, data)
    airgap.vault.bundles.keys.trust(public_key(site))
    imported = do_import(airgap, data)
    assert imported.record.digest == view.record.digest  # type: ignore[attr-defined]
    assert imported.environment == "DEV"  # type: ignore[attr-defined]
    assert airgap.vault.bundles.verify(SYSTEM, "release", "1.0.0")["ok"]
    hub = view.manifest.components[0]
    repo = airgap.vault.meta.get_hub_repo("models", "model", hub.repo_id)  # type: ignore[union-attr]
    assert repo is not None
    assert airgap.vault.meta.get_commit(repo.id, hub.commit) is not None  # type: ignore[union-attr,arg-type]
    assert airgap.vault.meta.get_ref(repo.id, "tag", "bundle/release/1.0.0") is not None
    assert airgap.vault.bundles.packages.get_file("pypi", "tinypkg-1.0.0-py3-none-any.whl")
    # The imported bundle can be promoted further there, and exported again identically.
    airgap.vault.bundles.promote(SYSTEM, "release", "1.0.0", "QA")
    with pytest.raises(BundleExistsError):
        do_import(airgap, data)


def test_import_with_an_explicit_key_and_permission(site: Site, airgap: Site) -> None:
    standard_bundle(site)
    with pytest.raises(PermissionDeniedError):
        begin_import(airgap.vault.bundles, Principal("w", "write", "token"), "models", "pypi")
    do_import(airgap, export_bytes(site), key=public_key(site))
    assert airgap.vault.bundles.get(SYSTEM, "release", "1.0.0").record.origin == "import"


def _tampered_blob(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    name, data = parts[-1]
    return [*parts[:-1], (name, bytes([data[0] ^ 1]) + data[1:])]


def _tampered_manifest(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(parts[0][0], parts[0][1].replace(b'"1.0.0"', b'"1.0.1"', 1)), *parts[1:]]


def _tampered_signature(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    sig = json.loads(parts[1][1])
    raw = bytearray(base64.b64decode(sig["signature"]))
    raw[5] ^= 1
    sig["signature"] = base64.b64encode(bytes(raw)).decode()
    return [parts[0], (parts[1][0], json.dumps(sig).encode()), *parts[2:]]


def _extra_file(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*parts, ("blobs/sha256/" + "0" * 64, b"surprise")]


def _traversal(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*parts[:3], ("../../../../tmp/evil", b"x"), *parts[3:]]


def _duplicate(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*parts, parts[-1]]


def _missing(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return parts[:-1]


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (_tampered_blob, IntegrityError),
        (_tampered_manifest, SignatureInvalidError),
        (_tampered_signature, SignatureInvalidError),
        (_extra_file, ArchiveInvalidError),
        (_traversal, ArchiveInvalidError),
        (_duplicate, ArchiveInvalidError),
        (_missing, ArchiveInvalidError),
    ],
)
def test_tampered_archives_are_refused(
    site: Site, airgap: Site, tamper: object, error: type[Exception], tmp_path: Path
) -> None:
    standard_bundle(site)
    airgap.vault.bundles.keys.trust(public_key(site))
    data = rebuild(tamper(members(export_bytes(site))))  # type: ignore[operator]
    with pytest.raises(error):
        do_import(airgap, data)
    assert_nothing_visible(airgap, site)
    # The offline verifier refuses it too.
    archive = tmp_path / "bad.tar"
    archive.write_bytes(data)
    raw = base64.b64decode(public_key(site))
    from modelvault_jlab.core.bundles.signing import key_id_of

    with pytest.raises(error):
        verify_archive(str(archive), {key_id_of(raw): raw})


def test_a_promotion_replayed_onto_another_bundle_is_refused(site: Site, airgap: Site) -> None:
    standard_bundle(site)
    site.create("other", "1", [{"kind": "file", "name": "notes.txt"}])
    site.vault.bundles.promote(SYSTEM, "other", "1", "DEV")
    stolen = members(export_bytes(site, "other", "1"))[2]
    parts = members(export_bytes(site))
    parts[2] = stolen
    airgap.vault.bundles.keys.trust(public_key(site))
    with pytest.raises(SignatureInvalidError, match="another bundle"):
        do_import(airgap, rebuild(parts))
    assert_nothing_visible(airgap, site)


def test_truncated_and_interrupted_imports_leave_nothing(site: Site, airgap: Site) -> None:
    standard_bundle(site)
    airgap.vault.bundles.keys.trust(public_key(site))
    data = export_bytes(site)
    with pytest.raises(ArchiveInvalidError, match="truncated"):
        do_import(airgap, data[: len(data) - 2000])
    assert_nothing_visible(airgap, site)
    # Interrupted half-way (the client went away): aborted, nothing published, no blob left.
    session = begin_import(airgap.vault.bundles, SYSTEM, "models", "pypi")
    session.feed(data[: len(data) // 2 + 700])
    session.abort()
    assert_nothing_visible(airgap, site)
    # Garbage is not an archive.
    with pytest.raises(ArchiveInvalidError):
        do_import(airgap, b"\x01" * 4096)
    # And afterwards the real archive imports fine.
    do_import(airgap, data)
