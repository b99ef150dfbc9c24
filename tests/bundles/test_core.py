"""Bundles in one vault: creation is gated, signed and sealed; promotions are ordered and signed."""

from __future__ import annotations

import asyncio
import json

import pytest

from modelvault_jlab.core.bundles.errors import (
    BundleBlockedError,
    BundleExistsError,
    PromotionOrderError,
    SignatureInvalidError,
)
from modelvault_jlab.core.bundles.manifest import BundleManifest
from modelvault_jlab.core.bundles.signing import Signature, verify_with
from modelvault_jlab.core.hub.refs import HubRef
from modelvault_jlab.core.identity import SYSTEM, Principal
from modelvault_jlab.errors import PermissionDeniedError
from tests.bundles.conftest import APACHE_CARD, Site, standard_bundle, uid
from tests.governance.test_product_story import malicious_pickle

WRITER = Principal(name="dev", scope="write", kind="token")


def test_create_pins_every_component_by_content(site: Site) -> None:
    view = standard_bundle(site)
    m = view.manifest
    kinds = [c.kind for c in m.components]
    assert kinds == ["hub", "package", "file"]
    hub = m.components[0]
    assert hub.kind == "hub" and len(hub.commit) == 40
    assert {f.path for f in hub.files} == {"README.md", "config.json", "model.safetensors"}
    assert hub.card["license"] == "apache-2.0"
    assert m.sources == ["models", "pypi"] and m.created_by == "system"
    # The digest is the sha256 of the canonical manifest, and the signature covers those bytes.
    assert view.record.manifest == m.canonical()
    assert b" " not in view.record.manifest.split(b'"description"')[0]
    sig = Signature.from_dict(json.loads(view.record.signature))
    verify_with(site.vault.bundles.keys.own_keys()[sig.key_id], view.record.manifest, sig)
    # Pinned blobs are known to the store as pinned (a GC must keep them).
    assert all(site.vault.bundles.pinned(sha) for sha in m.blobs())
    # The model repo got a read-only tag naming the bundle.
    repo = site.vault.meta.get_hub_repo("models", "model", hub.repo_id)
    assert repo is not None
    tag = site.vault.meta.get_ref(repo.id, "tag", "bundle/release/1.0.0")
    assert tag is not None and tag.commit == hub.commit


def test_same_name_and_version_twice_is_refused(site: Site) -> None:
    view = standard_bundle(site)
    with pytest.raises(BundleExistsError):
        site.create("release", "1.0.0", [{"kind": "file", "name": "notes.txt"}])
    assert site.vault.bundles.get(SYSTEM, "release", "1.0.0").record.digest == view.record.digest
    # A new version is fine.
    site.create("release", "1.0.1", [{"kind": "file", "name": "notes.txt"}])


def test_deleting_the_source_repo_does_not_break_the_bundle(site: Site) -> None:
    view = standard_bundle(site)
    hub = view.manifest.components[0]
    assert hub.kind == "hub"
    site.vault.hub_write.delete_repo(SYSTEM, HubRef("models", "model", hub.repo_id))
    report = site.vault.bundles.verify(SYSTEM, "release", "1.0.0")
    assert report["ok"] and report["blobs"] == len(view.manifest.blobs())


def test_gate_refuses_a_blocked_component_with_every_violation(site: Site) -> None:
    bad = f"acme/evil-{uid()}"
    site.model(bad, {"README.md": APACHE_CARD, "pytorch_model.bin": malicious_pickle()})
    good = f"acme/good-{uid()}"
    site.model(good, {"README.md": APACHE_CARD, "config.json": b"{}"})
    comps = [
        {"kind": "hub", "repository": "models", "repo_id": good},
        {"kind": "hub", "repository": "models", "repo_id": bad},
    ]
    with pytest.raises(BundleBlockedError) as info:
        site.create("evil", "1", comps)
    violations = info.value.details["violations"]
    assert len(violations) == 1
    assert bad in violations[0]["component"] and violations[0]["policy"] == "malicious-models"
    assert site.vault.bundles.list_bundles(SYSTEM, "evil") == []
    # A waiver for that blob applies.
    sha = next(
        f.sha256
        for f in site.vault.meta.list_files(
            site.vault.meta.get_hub_repo("models", "model", bad).id,  # type: ignore[union-attr]
            site.vault.hub.commit_for(
                site.vault.meta.get_hub_repo("models", "model", bad),  # type: ignore[arg-type]
                "main",
            ).sha,
            "",
            None,
            100,
        )
        if f.path == "pytorch_model.bin"
    )
    site.vault.gate.grant_waiver(
        SYSTEM,
        {
            "policy": "malicious-models",
            "sha256": sha,
            "justification": "red-team sample",
            "expires_in_seconds": 600,
        },
    )
    assert site.create("evil", "1", comps).record.name == "evil"


def test_promotions_are_ordered_signed_and_admin_only(site: Site) -> None:
    standard_bundle(site)
    svc = site.vault.bundles
    with pytest.raises(PromotionOrderError):
        svc.promote(SYSTEM, "release", "1.0.0", "QA")
    with pytest.raises(PermissionDeniedError):
        svc.promote(WRITER, "release", "1.0.0", "DEV")
    svc.promote(SYSTEM, "release", "1.0.0", "DEV")
    with pytest.raises(PromotionOrderError):
        svc.promote(SYSTEM, "release", "1.0.0", "PROD")
    svc.promote(SYSTEM, "release", "1.0.0", "QA")
    view = svc.promote(SYSTEM, "release", "1.0.0", "PROD")
    assert view.environment == "PROD"
    assert [p["to"] for p in view.promotions] == ["DEV", "QA", "PROD"]
    assert view.promotions[2]["from"] == "QA" and view.promotions[2]["by"] == "system"
    with pytest.raises(PromotionOrderError):
        svc.promote(SYSTEM, "release", "1.0.0", "PROD")
    assert [v.record.version for v in svc.list_bundles(SYSTEM, environment="PROD")] == ["1.0.0"]
    assert svc.list_bundles(SYSTEM, environment="QA") == []
    assert svc.verify(SYSTEM, "release", "1.0.0")["ok"]
    actions = [
        e.action
        for e in site.vault.audit.query(
            __import__("modelvault_jlab.storage.records", fromlist=["AuditQuery"]).AuditQuery(
                action="bundle.promote"
            )
        )
    ]
    assert len(actions) == 3


def test_key_rotation_keeps_old_bundles_verifiable(site: Site) -> None:
    view = standard_bundle(site)
    old = json.loads(view.record.signature)["key_id"]
    new = site.vault.bundles.keys.rotate()
    assert new != old and site.vault.bundles.keys.active_key_id == new
    second = site.create("release", "2.0.0", [{"kind": "file", "name": "notes.txt"}])
    assert json.loads(second.record.signature)["key_id"] == new
    assert site.vault.bundles.verify(SYSTEM, "release", "1.0.0")["ok"]
    keys = site.vault.bundles.public_keys()["keys"]
    assert {k["key_id"] for k in keys} == {old, new}


def test_a_corrupted_blob_is_reported_by_verify(site: Site) -> None:
    view = standard_bundle(site)
    sha = view.manifest.components[2].sha256  # type: ignore[union-attr]
    path = site.root / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha
    assert path.exists()
    path.chmod(0o644)
    path.write_bytes(b"tampered\n")
    report = site.vault.bundles.verify(SYSTEM, "release", "1.0.0")
    assert not report["ok"] and report["problems"] == [{"sha256": sha, "problem": "corrupt"}]


def test_manifest_parser_rejects_non_canonical_or_unsafe_input(site: Site) -> None:
    view = standard_bundle(site)
    data = json.loads(view.record.manifest)
    assert BundleManifest.from_dict(data).canonical() == view.record.manifest
    evil = json.loads(view.record.manifest)
    evil["components"][0]["files"][0]["path"] = "../../etc/passwd"
    with pytest.raises(ValueError):
        BundleManifest.from_dict(evil)
    extra = json.loads(view.record.manifest)
    extra["surprise"] = 1
    with pytest.raises(ValueError):
        BundleManifest.from_dict(extra)
    with pytest.raises(SignatureInvalidError):
        sig = Signature.from_dict(json.loads(view.record.signature))
        verify_with(
            site.vault.bundles.keys.own_keys()[sig.key_id], view.record.manifest + b" ", sig
        )


def test_write_scope_is_needed_to_create(site: Site) -> None:
    reader = Principal(name="r", scope="read", kind="token")
    with pytest.raises(PermissionDeniedError):
        asyncio.run(
            site.vault.bundles.create(
                reader, {"name": "x", "version": "1", "components": [{"kind": "file", "name": "a"}]}
            )
        )


def test_bom_of_models_datasets_packages_and_files_is_valid_cyclonedx(site: Site) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from modelvault_jlab.core.bundles.bom import bundle_bom
    from modelvault_jlab.core.hub.write import PutFile

    view = standard_bundle(site)
    data_id = f"acme/ds-{uid()}"
    ref = HubRef("models", "dataset", data_id)
    site.vault.hub_write.create_repo(SYSTEM, ref)
    info = site.vault.content.put_bytes(b"a,b\n1,2\n")
    site.vault.hub_write.commit(
        SYSTEM, ref, "main", [PutFile("d.csv", info.sha256, info.size, None)], title="d"
    )
    model = view.manifest.components[0]
    assert model.kind == "hub"
    both = site.create(
        "mixed",
        "1",
        [
            {
                "kind": "hub",
                "repository": "models",
                "repo_id": model.repo_id,
                "revision": model.commit,
            },
            {"kind": "hub", "repository": "models", "repo_type": "dataset", "repo_id": data_id},
            {"kind": "package", "repository": "pypi", "name": "tinypkg", "version": "1.0.0"},
            {"kind": "file", "name": "notes.txt"},
        ],
    )
    bom = bundle_bom(both.manifest, both.record.digest)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    types = [c["type"] for c in bom["components"]]
    assert types == ["machine-learning-model", "data", "library", "file"]
    assert bom["components"][0]["modelCard"]["modelParameters"]["datasets"] == [
        {"type": "dataset", "name": "imdb"}
    ]
    assert bundle_bom(both.manifest, both.record.digest) == bom  # deterministic
