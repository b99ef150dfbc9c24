"""BundleService: create (gated, signed, sealed), show, list, promote, verify, and generic files.

A bundle is sealed at creation: its canonical manifest is signed and stored with a pin on every
blob it references, and nothing about it changes afterwards except the append-only chain of
signed promotion records. Export and import live in :mod:`.transfer`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from ...ids import Sha256
from ...storage.blobs import BlobWriter
from ...storage.bundles import BundleRecord, BundleStore, GenericFileRecord, PromotionRecord
from ...storage.meta import MetadataStore
from ...storage.packages import PackageFileRecord, PackageStore
from ..audit import AuditLog
from ..content import ContentStore
from ..governance.gate import Gate
from ..governance.policy.engine import Violation
from ..hub.judge import Judge
from ..hub.mirror import HubMirror
from ..hub.read import HubService
from ..identity import AccessPolicy, Principal
from ..pypi.names import normalize
from .archive import check_promotions
from .errors import BundleBlockedError, BundleExistsError, BundleNotFoundError, PromotionOrderError
from .manifest import (
    BundleManifest,
    Component,
    HubComponent,
    PackageComponent,
    canonical_json,
    validate_bundle_name,
    validate_bundle_version,
    validate_file_name,
)
from .pinning import package_repository, pin_file, pin_hub, pin_packages
from .signing import KeyRing, Signature

DEFAULT_ENVIRONMENTS = ("DEV", "QA", "PROD")


def bundle_tag(name: str, version: str) -> str:
    """The Hub tag that pins each model repo of a bundle: ``bundle/<name>/<version>``."""
    return f"bundle/{name}/{version}"


@dataclass(frozen=True)
class BundleView:
    record: BundleRecord
    manifest: BundleManifest
    promotions: list[dict[str, Any]]

    @property
    def environment(self) -> str | None:
        return str(self.promotions[-1]["to"]) if self.promotions else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.record.name,
            "version": self.record.version,
            "digest": self.record.digest,
            "created_by": self.record.created_by,
            "created_at": self.record.created_at,
            "origin": self.record.origin,
            "environment": self.environment,
            "signature": json.loads(self.record.signature),
            "manifest": self.manifest.to_dict(),
            "promotions": self.promotions,
        }


class BundleService:
    def __init__(
        self,
        *,
        meta: MetadataStore,
        packages: PackageStore,
        store: BundleStore,
        content: ContentStore,
        access: AccessPolicy,
        audit: AuditLog,
        gate: Gate,
        judge: Judge,
        hub: HubService,
        mirror: HubMirror,
        keys: KeyRing,
        environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.meta = meta
        self.packages = packages
        self.store = store
        self.content = content
        self.access = access
        self.audit = audit
        self.gate = gate
        self.judge = judge
        self.hub = hub
        self.mirror = mirror
        self.keys = keys
        self.environments = tuple(environments)
        self.clock = clock
        if not self.environments or len(set(self.environments)) != len(self.environments):
            raise InvalidInputError(
                "Bundle environments must be a non-empty list of distinct names."
            )

    # -- creating --
    async def create(self, who: Principal, spec: Any) -> BundleView:
        """Pin, gate, sign and seal a bundle.

        ``spec``: ``{"name", "version", "description"?, "components": [{"kind": "hub",
        "repository", "repo_type"?, "repo_id", "revision"?} | {"kind": "package", "repository",
        "name", "version", "filename"?} | {"kind": "file", "name"}]}``.

        Raises:
            InvalidInputError, PermissionDeniedError, NotFoundError, BundleExistsError,
            BundleBlockedError (``details["violations"]``: every blocking violation).
        """
        self.access.require(who, "write", None)
        if not isinstance(spec, dict):
            raise InvalidInputError("Expected a JSON object.")
        name = validate_bundle_name(spec.get("name", ""))
        version = validate_bundle_version(spec.get("version", ""))
        description = spec.get("description", "")
        items = spec.get("components")
        if not isinstance(description, str) or len(description) > 4000:
            raise InvalidInputError("'description' must be a string (at most 4000 characters).")
        if not isinstance(items, list) or not items or len(items) > 1000:
            raise InvalidInputError("A bundle lists 1-1000 'components'.")
        if self.store.get_bundle(name, version) is not None:
            raise _exists(name, version)
        components: list[Component] = []
        blocked: list[dict[str, Any]] = []
        for item in items:
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind == "hub":
                found = await pin_hub(self, who, item)
            elif kind == "package":
                found = await pin_packages(self, who, item)
            elif kind == "file":
                found = await pin_file(self, item)
            else:
                raise InvalidInputError(f"Unknown component kind {str(kind)[:40]!r}.")
            for comp, decision in found:
                components.append(comp)
                blocked += [
                    _violation_json(comp, v) for v in decision.violations if v.action == "block"
                ]
        keys = [_identity(c) for c in components]
        if len(set(keys)) != len(keys):
            raise InvalidInputError("A component is listed twice.")
        if blocked:
            self.audit.record(
                who, "bundle.blocked", subject=f"{name}@{version}", violations=blocked[:100]
            )
            raise BundleBlockedError(
                f"Bundle {name} {version} is refused: {len(blocked)} component violation(s) "
                f"of current policy, e.g. {blocked[0]['message']}",
                violations=blocked,
            )
        manifest = BundleManifest(
            name, version, who.name, self.clock(), tuple(components), description
        )
        raw = manifest.canonical()
        record = self._seal(manifest, raw, self.keys.sign(raw), "local", [])
        self._tag_local(manifest)
        self.audit.record(
            who,
            "bundle.create",
            subject=f"{name}@{version}",
            digest=record.digest,
            key_id=json.loads(record.signature)["key_id"],
            sources=manifest.sources,
        )
        return self._view(record)

    def _seal(
        self,
        manifest: BundleManifest,
        raw: bytes,
        sig: Signature,
        origin: str,
        promotions: list[PromotionRecord],
    ) -> BundleRecord:
        try:
            return self.store.create_bundle(
                BundleRecord(
                    0,
                    manifest.name,
                    manifest.version,
                    hashlib.sha256(raw).hexdigest(),
                    raw,
                    json.dumps(sig.to_dict(), sort_keys=True),
                    manifest.created_by,
                    manifest.created_at,
                    origin,
                ),
                list(manifest.blobs()),
                promotions,
            )
        except ConflictError:
            raise _exists(manifest.name, manifest.version) from None

    def _tag_local(self, manifest: BundleManifest) -> None:
        """Tag each hf-local model repo ``bundle/<name>/<version>`` at its pinned commit."""
        tag = bundle_tag(manifest.name, manifest.version)
        for c in manifest.components:
            if not isinstance(c, HubComponent):
                continue
            record = self.meta.get_repository(c.repository)
            repo = self.meta.get_hub_repo(c.repository, c.repo_type, c.repo_id)  # type: ignore[arg-type]
            if record is None or record.kind != "hf-local" or repo is None:
                continue
            if self.meta.get_ref(repo.id, "tag", tag) is None:
                # tags are first-writer-wins; the commit id is the real pin
                with contextlib.suppress(ConflictError):
                    self.meta.set_ref(repo.id, "tag", tag, c.commit, None)  # type: ignore[arg-type]

    # -- reading --
    def _record(self, name: str, version: str) -> BundleRecord:
        record = self.store.get_bundle(name, version)
        if record is None:
            raise BundleNotFoundError(f"No bundle {name[:80]} {version[:80]}.")
        return record

    def _view(self, record: BundleRecord) -> BundleView:
        manifest = BundleManifest.from_dict(json.loads(record.manifest))
        promos = [json.loads(p.payload) for p in self.store.list_promotions(record.id)]
        return BundleView(record, manifest, promos)

    def get(self, who: Principal, name: str, version: str) -> BundleView:
        self.access.require(who, "read", None)
        return self._view(self._record(name, version))

    def list_bundles(
        self, who: Principal, name: str | None = None, environment: str | None = None
    ) -> list[BundleView]:
        """Bundles, newest first; ``environment``: only those currently in it."""
        self.access.require(who, "read", None)
        views = [self._view(r) for r in self.store.list_bundles(name)]
        if environment is not None:
            views = [v for v in views if v.environment == environment]
        return views

    def promotion_entries(self, record: BundleRecord) -> list[tuple[bytes, str]]:
        return [(p.payload, p.signature) for p in self.store.list_promotions(record.id)]

    def record_for_export(self, who: Principal, name: str, version: str) -> BundleRecord:
        self.access.require(who, "read", None)
        return self._record(name, version)

    # -- promoting --
    def promote(self, who: Principal, name: str, version: str, to: str) -> BundleView:
        """Move a bundle to the next environment, with a signed, audited record.

        Raises:
            PermissionDeniedError (admin only), BundleNotFoundError, InvalidInputError (unknown
            environment), PromotionOrderError (not the next environment), WriteConflictError.
        """
        self.access.require(who, "admin", None)
        record = self._record(name, version)
        if to not in self.environments:
            raise InvalidInputError(
                f"Unknown environment {to[:40]!r}: expected one of {', '.join(self.environments)}."
            )
        promos = self.store.list_promotions(record.id)
        current = promos[-1].environment if promos else None
        idx = self.environments.index(to)
        expected = self.environments[idx - 1] if idx else None
        if current != expected:
            raise PromotionOrderError(
                f"Cannot promote {name} {version} to {to}: it is in {current or 'no environment'}"
                f", and {to} follows {expected or 'creation'} "
                f"(order: {' -> '.join(self.environments)}).",
                current=current,
                requested=to,
            )
        payload = canonical_json(
            {
                "bundle": record.digest,
                "name": name,
                "version": version,
                "from": current,
                "to": to,
                "by": who.name,
                "at": self.clock(),
                "seq": len(promos),
                "previous": hashlib.sha256(promos[-1].payload).hexdigest() if promos else None,
            }
        )
        sig = self.keys.sign(payload)
        self.store.add_promotion(
            PromotionRecord(record.id, len(promos), to, payload, json.dumps(sig.to_dict()))
        )
        self.audit.record(
            who, "bundle.promote", subject=f"{name}@{version}", source=current, target=to
        )
        return self._view(record)

    # -- verifying --
    def verify(self, who: Principal, name: str, version: str) -> dict[str, Any]:
        """Check the signature, the promotion chain and every pinned blob's sha256 (streamed).

        Raises SignatureInvalidError, UntrustedKeyError; blob problems are reported, not raised.
        """
        self.access.require(who, "read", None)
        record = self._record(name, version)
        sig = Signature.from_dict(json.loads(record.signature))
        self.keys.verify(record.manifest, sig)
        manifest = BundleManifest.from_dict(json.loads(record.manifest))
        check_promotions(record.digest, self.promotion_entries(record), self.keys.verify)
        problems = []
        for sha, size in sorted(manifest.blobs().items()):
            h = hashlib.sha256()
            n = 0
            try:
                for chunk in self.content.blobs.iter_range(Sha256(sha), 0, size + 1, 1 << 20):
                    h.update(chunk)
                    n += len(chunk)
            except NotFoundError:
                problems.append({"sha256": sha, "problem": "missing"})
                continue
            if n != size or h.hexdigest() != sha:
                problems.append({"sha256": sha, "problem": "corrupt"})
        return {
            "name": name,
            "version": version,
            "digest": record.digest,
            "key_id": sig.key_id,
            "signature": "valid",
            "blobs": len(manifest.blobs()),
            "problems": problems,
            "ok": not problems,
        }

    def pinned(self, sha256: str) -> bool:
        """True while a bundle references the blob: a GC or delete must leave it alone."""
        return self.store.is_pinned(sha256)

    # -- generic files --
    def begin_file(self, who: Principal, name: str) -> BlobWriter:
        self.access.require(who, "write", None)
        validate_file_name(name)
        return self.content.writer()

    def finish_file(
        self, who: Principal, name: str, writer: BlobWriter, expected_sha256: str | None = None
    ) -> GenericFileRecord:
        info = self.content.finish(writer, expected_sha256)
        record = GenericFileRecord(name, info.sha256, info.size, who.name, self.clock())
        self.store.put_file(record)
        self.audit.record(
            who, "bundle.file.upload", subject=name, sha256=info.sha256, size=info.size
        )
        return record

    def files(self, who: Principal) -> list[GenericFileRecord]:
        self.access.require(who, "read", None)
        return self.store.list_files()

    # -- what the create wizard can pick: packages stored in a pypi repository --
    def package_projects(self, who: Principal, key: str) -> list[str]:
        """Projects with files in ``key`` (uploaded or cached), sorted."""
        package_repository(self, who, key)
        return sorted(self.packages.list_projects(key))

    def package_files(self, who: Principal, key: str, project: str) -> list[PackageFileRecord]:
        """The files of ``project`` in ``key`` whose bytes are stored (only those can be pinned)."""
        package_repository(self, who, key)
        return [
            f
            for f in self.packages.list_files(key, normalize(project))
            if self.content.known(Sha256(f.sha256)) is not None
        ]

    def public_keys(self) -> dict[str, Any]:
        import base64

        own = self.keys.own_keys()
        active = self.keys.active_key_id
        trusted = self.keys.trusted_keys()
        return {
            "active": active,
            "keys": [
                {
                    "key_id": k,
                    "algorithm": "ed25519",
                    "public_key": base64.b64encode(v).decode(),
                    "own": k in own,
                    "active": k == active,
                }
                for k, v in sorted(trusted.items())
            ],
        }


def _exists(name: str, version: str) -> BundleExistsError:
    return BundleExistsError(
        f"Bundle {name} {version} exists: bundles are immutable, create a new version.",
        name=name,
        version=version,
    )


def _identity(c: Component) -> tuple[str, ...]:
    if isinstance(c, HubComponent):
        return ("hub", c.repo_type, c.repo_id)
    if isinstance(c, PackageComponent):
        return ("package", c.filename)
    return ("file", c.name)


def _violation_json(c: Component, v: Violation) -> dict[str, Any]:
    if isinstance(c, HubComponent):
        what = f"{c.repo_type}s/{c.repo_id}@{c.commit}"
    elif isinstance(c, PackageComponent):
        what = f"package {c.filename}"
    else:
        what = f"file {c.name}"
    return {
        "component": what,
        "policy": v.policy,
        "reason": v.reason,
        "evidence": v.evidence,
        "message": f"{what}: {v.message()}",
    }


__all__ = ["BundleService", "BundleView", "PolicyError", "bundle_tag"]
