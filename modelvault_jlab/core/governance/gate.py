"""The gate: every file is scanned before its first byte is served, and policy decides.

Decisions combine repo-level policies (licence from the model card, custom code) with the scan
verdict of the file's blob. Scan results are kept per sha256 with the scanner version, so a blob
is scanned once however many repos hold it; a scanner upgrade re-scans in the background. Waivers
lift one policy for one repo (optionally at one commit) or one blob, until they expire. Every
block, warning and waiver is an audit event.

Replicas sharing one metadata store share everything the gate decides from: verdicts, policies,
waivers, the policy epoch and the scanner allow-list all live in the store. A large blob is
scanned under the lease ``scan:<sha256>``, so two replicas asked for it at once scan it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from ...errors import InvalidInputError, NotFoundError, PolicyError
from ...ids import Sha256
from ...storage.meta import MetadataStore
from ...storage.records import FileEntry, RepositoryRecord, ScanRecord, WaiverRecord
from ..audit import AuditLog
from ..content import ContentStore
from ..identity import AccessPolicy, Principal
from ..leases import Leases, Turn, optional
from ..observer import NO_OBSERVER, Observer
from .policy.engine import (
    DEFAULT_POLICIES,
    Decision,
    Policy,
    Violation,
    code_violations,
    effective_policies,
    license_violations,
    parse_policies,
    scan_violations,
)
from .policy.licenses import LicenseInfo, license_of_core_metadata
from .subject import Subject
from .verdicts import verdict_of
from .waivers import covers, parse_waiver

if TYPE_CHECKING:
    from ..scanning import ScanEngine

log = logging.getLogger(__name__)
SCAN_LEASE_MIN_BYTES = 4 * 1024 * 1024
"""Smaller blobs scan faster than replicas agree on who scans them: each replica just scans."""


class Gate:
    observer: Observer = NO_OBSERVER

    def __init__(
        self,
        meta: MetadataStore,
        content: ContentStore,
        access: AccessPolicy,
        audit: AuditLog,
        clock: Callable[[], float] = time.time,
        leases: Leases | None = None,
    ) -> None:
        self._meta = meta
        self._content = content
        self._access = access
        self._audit = audit
        self._clock = clock
        self._leases = leases
        self._engine: ScanEngine | None = None
        self._engine_globals = ""
        self._scans: dict[str, tuple[threading.Lock, list[int]]] = {}
        """Blobs being scanned in this process: a lock and how many threads want it."""
        self._scans_guard = threading.Lock()

    # -- scanning --
    @property
    def engine(self) -> ScanEngine:
        # The allow-list is a vault-wide setting: rebuilt when it changed (on any replica).
        raw = self._meta.get_setting("scan_allowed_globals") or "[]"
        if self._engine is None or raw != self._engine_globals:
            from ..scanning import ScanEngine  # fickling loads only where scans run

            self._engine = ScanEngine(extra_allowed_globals=frozenset(json.loads(raw)))
            self._engine_globals = raw
        return self._engine

    @property
    def scanner_version(self) -> str:
        from ..scanning import SCANNER_VERSION

        return SCANNER_VERSION

    async def scan_async(
        self,
        sha256: Sha256,
        name_hint: str | None = None,
        *,
        force: bool = False,
        source: Callable[[], BinaryIO] | None = None,
    ) -> ScanRecord:
        """:meth:`scan` for the event loop: waits on the scan pool's own caller threads, so that
        scans waiting for a slot never hold the default executor that commits and reads use."""
        from ..scanning.pool import shared_pool  # scanner loads where scans run

        work = functools.partial(self.scan, sha256, name_hint, force=force, source=source)
        return await asyncio.wrap_future(shared_pool().call(work))

    def scan(
        self,
        sha256: Sha256,
        name_hint: str | None = None,
        *,
        force: bool = False,
        source: Callable[[], BinaryIO] | None = None,
    ) -> ScanRecord:
        """The verdict on a blob, scanning it now unless this scanner version already did.

        ``source`` opens the bytes when they are not stored yet (a verified transfer about to be
        published). Blocking (reads the blob in a streaming pass): call it from a worker thread.
        """
        known = self._meta.get_scan(sha256)
        if known is not None and known.scanner_version == self.scanner_version and not force:
            return known
        asked_at = self._clock()
        with self._one_scan_of(sha256):  # one thread of this process; the lease: one replica
            if not force:  # another thread of this process may have just scanned it
                done = self._meta.get_scan(sha256)
                if done is not None and done.scanner_version == self.scanner_version:
                    return done
            with (source or (lambda: self._content.blobs.open_reader(sha256)))() as f:
                size = f.seek(0, 2)
                turn = self._scan_turn(sha256, size, asked_at if force else None)
                if turn.result is not None:  # another replica scanned it meanwhile
                    return turn.result
                with optional(turn.lease):  # held until the verdict is stored
                    f.seek(0)
                    from ..scanning.pool import shared_pool  # scanner loads where scans run

                    # On the scan pool's own threads, within the scan's CPU budget.
                    began = time.perf_counter()
                    report = shared_pool().run(
                        self.engine.scan_fileobj, f, size, name_hint=name_hint
                    )
                    self.observer.scanned(report.verdict.value, time.perf_counter() - began)
                    record = ScanRecord(
                        sha256,
                        report.scanner_version,
                        report.verdict.value,
                        report.to_dict(),
                        self._clock(),
                    )
                    self._meta.put_scan(record)
        if known is not None and known.verdict != record.verdict:
            self._audit.record(
                _SCANNER,
                "scan.verdict.changed",
                subject=sha256,
                before=known.verdict,
                after=record.verdict,
                scanner_version=record.scanner_version,
            )
        return record

    @contextlib.contextmanager
    def _one_scan_of(self, sha256: Sha256) -> Iterator[None]:
        """Serialise this process's scans of one blob (scans run in worker threads)."""
        with self._scans_guard:
            entry = self._scans.setdefault(sha256, (threading.Lock(), [0]))
            entry[1][0] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._scans_guard:
                entry[1][0] -= 1
                if not entry[1][0]:
                    del self._scans[sha256]

    def _scan_turn(self, sha256: Sha256, size: int, since: float | None) -> Turn[ScanRecord]:
        """Scan here (with the lease, when there is one to take), or the verdict another replica
        stored while this one waited. ``since``: a forced re-scan wants a verdict from then on."""
        if self._leases is None or size < SCAN_LEASE_MIN_BYTES:
            return Turn()

        def stored() -> ScanRecord | None:
            found = self._meta.get_scan(sha256)
            if found is None or found.scanner_version != self.scanner_version:
                return None
            return found if since is None or found.scanned_at >= since else None

        return self._leases.follow_blocking(f"scan:{sha256}", stored)

    def rescan_stale(self, batch: int = 100, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Re-scan blobs scanned by an older scanner; report those newly blocked. Returns count.

        Stops early once ``keep_going()`` is false (the job's lease was lost to another replica).
        """
        done = 0
        while True:
            stale = self._meta.stale_scans(self.scanner_version, batch)
            if not stale:
                return done
            for sha in stale:
                if not keep_going():
                    return done
                try:
                    self.scan(sha, force=True)
                except NotFoundError:  # the blob is gone: forget its verdict
                    self._meta.put_scan(
                        ScanRecord(
                            sha, self.scanner_version, "error", {"findings": []}, self._clock()
                        )
                    )
                done += 1

    # -- policies --
    def epoch(self) -> str:
        """Changes whenever policies or waivers change (cached decisions key on it)."""
        return self._meta.get_setting("policy_epoch") or "0"

    def _bump(self) -> None:
        # Unique, not a timestamp: replicas with skewed clocks must never reuse an epoch.
        self._meta.set_setting("policy_epoch", uuid.uuid4().hex)

    def scan_report(self, sha256: Sha256) -> ScanRecord | None:
        """The stored scan verdict of a blob (``None``: never scanned)."""
        return self._meta.get_scan(sha256)

    def flagged(self, limit: int) -> list[ScanRecord]:
        """Blobs whose latest verdict is malicious, suspicious or an error."""
        return self._meta.list_scans(["malicious", "suspicious", "error"], limit)

    def global_policies(self) -> list[Policy]:
        return parse_policies(self._meta.get_setting("policies"))

    def set_global_policies(self, who: Principal, raw: object) -> list[Policy]:
        policies, disabled = self.check_global_policies(who, raw)
        self._meta.set_setting("policies", json.dumps([p.to_dict() for p in policies]))
        self._bump()
        self._audit.record(who, "policy.update", names=[p.name for p in policies])
        if disabled:
            self._audit.record(who, "policy.disable", names=disabled)
        return policies

    def check_global_policies(self, who: Principal, raw: object) -> tuple[list[Policy], list[str]]:
        """A proposed global policy list, validated as :meth:`set_global_policies` would store
        it (and the names of the defaults it switches off); nothing is saved.

        Raises:
            InvalidInputError: what is wrong with the list.
            PermissionDeniedError: ``who`` is not an admin.
        """
        self._access.require(who, "admin", None)
        if not isinstance(raw, list):
            raise InvalidInputError("Expected a list of policies.")
        raw, disabled = _explicitly_disabled(raw)
        policies = [Policy.from_dict(p) for p in raw]
        if len({p.name for p in policies}) != len(policies):
            raise InvalidInputError("Two policies have the same name.")
        for record in self._meta.list_repositories():  # overrides must stay meaningful
            try:
                effective_policies(policies, record.config.get("policies") or [], record.kind)
            except InvalidInputError as exc:
                raise InvalidInputError(
                    f"Repository '{record.key}' overrides policies in a way these would make "
                    f"invalid: {exc}"
                ) from None
        return policies, disabled

    def switched_off_defaults(self) -> list[Policy]:
        """Default policies an admin switched off: absent from the stored global list."""
        names = {p.name for p in self.global_policies()}
        return [d for d in DEFAULT_POLICIES if d.name not in names]

    def policies_for(self, record: RepositoryRecord) -> list[Policy]:
        return effective_policies(
            self.global_policies(), record.config.get("policies") or [], record.kind
        )

    # -- decisions --
    def repo_decision(self, subject: Subject, licence: LicenseInfo, paths: list[str]) -> Decision:
        """Licence and custom-code policies for a repo at a commit (see :mod:`.judge`, which
        adds base-model lineage and the file's scan verdict)."""
        policies = self.policies_for(subject.source)
        what = f"{subject.repo_type} {subject.repo_id}"
        violations = license_violations(policies, licence, what)
        violations += code_violations(policies, [p for p in paths if p.endswith(".py")], what)
        return self.waive(subject, None, violations)

    def file_decision(self, subject: Subject, entry: FileEntry, scan: ScanRecord) -> Decision:
        findings = scan.report.get("findings") or []
        violations = scan_violations(
            self.policies_for(subject.source), scan.verdict, findings, entry.path
        )
        return self.waive(subject, scan.sha256, violations)

    def package_decision(
        self,
        subject: Subject,
        filename: str,
        sha256: str,
        metadata: str | None,
        scan: ScanRecord | None,
    ) -> Decision:
        """Licence (from core metadata) and scan verdict of one Python distribution file.

        Python sources are what a package is made of, so the scanner's ``python-*`` findings do
        not count here; pickles and other payloads inside a distribution still do.
        """
        policies = self.policies_for(subject.source)
        violations: list[Violation] = []
        if metadata is not None:
            violations += license_violations(
                policies, license_of_core_metadata(metadata), f"package {filename}"
            )
        if scan is not None:
            findings = [
                f
                for f in scan.report.get("findings") or []
                if not str(f.get("rule", "")).startswith("python-")
            ]
            violations += scan_violations(policies, verdict_of(findings), findings, filename)
        return self.waive(subject, sha256, violations)

    def waive(self, subject: Subject, sha256: str | None, violations: list[Violation]) -> Decision:
        """The decision ``violations`` make once the active waivers are applied."""
        if not violations:
            return Decision()
        active = self._meta.list_waivers(False, self._clock())
        kept, waived = [], []
        for v in violations:
            if any(covers(w, v, subject, sha256) for w in active):
                waived.append(v)
            else:
                kept.append(v)
        return Decision(tuple(kept), tuple(waived))

    def enforce(self, who: Principal, subject: Subject, path: str, decision: Decision) -> list[str]:
        """Raise PolicyError for a block (audited); return warning texts for the client."""
        block = decision.blocking
        subject_text = (
            subject.repo_id  # a distribution's file name
            if subject.repo_type == "package"
            else f"{subject.repo_type}s/{subject.repo_id}@{subject.commit}/{path}"
        )
        if block is not None:
            self.observer.blocked(block.policy)
            self._audit.record(
                who,
                "policy.block",
                repository=subject.repository,
                subject=subject_text,
                policy=block.policy,
                reason=block.reason,
                evidence=block.evidence,
            )
            raise PolicyError(block.message(), policy=block.policy, evidence=block.evidence)
        for v in decision.violations:
            if v.action in ("warn", "audit"):
                self._audit.record(
                    who,
                    f"policy.{v.action}",
                    repository=subject.repository,
                    subject=subject_text,
                    policy=v.policy,
                    reason=v.reason,
                )
        return [v.message() for v in decision.warnings]

    # -- waivers --
    def grant_waiver(self, who: Principal, body: dict[str, Any]) -> WaiverRecord:
        self._access.require(who, "admin", None)
        record = self._meta.create_waiver(parse_waiver(who, body, self._clock()))
        self._bump()
        self._audit.record(
            who,
            "waiver.grant",
            repository=record.repository,
            subject=record.sha256 or f"{record.repo_type}s/{record.repo_id}@{record.commit or '*'}",
            policy=record.policy,
            justification=record.justification,
            expires_at=record.expires_at,
            waiver_id=record.id,
        )
        return record

    def revoke_waiver(self, who: Principal, waiver_id: int) -> None:
        self._access.require(who, "admin", None)
        if not self._meta.revoke_waiver(waiver_id, self._clock()):
            raise NotFoundError(f"No active waiver {waiver_id}.")
        self._bump()
        self._audit.record(who, "waiver.revoke", subject=str(waiver_id))

    def waivers(self, who: Principal, include_inactive: bool = False) -> list[WaiverRecord]:
        self._access.require(who, "read", None)
        return self._meta.list_waivers(include_inactive, self._clock())


_SCANNER = Principal(name="scanner", scope="admin", kind="system")

__all__ = ["Gate", "PolicyError"]


def _explicitly_disabled(raw: list[Any]) -> tuple[list[Any], list[str]]:
    """Split ``{"name": …, "enabled": false}`` entries off a global policy list, and refuse a list
    that leaves out a default policy: switching governance off is an explicit (and audited)
    decision, never the side effect of an empty or partial list.

    Raises:
        InvalidInputError: naming the default policies that are missing.
    """
    disabled = [
        str(p.get("name"))
        for p in raw
        if isinstance(p, dict) and p.get("enabled") is False and isinstance(p.get("name"), str)
    ]
    enabled = [p for p in raw if not (isinstance(p, dict) and p.get("enabled") is False)]
    named = {p.get("name") for p in enabled if isinstance(p, dict)} | set(disabled)
    missing = [d.name for d in DEFAULT_POLICIES if d.name not in named]
    if missing:
        hint = ", ".join(f'{{"name": "{n}", "enabled": false}}' for n in missing)
        raise InvalidInputError(
            f"The policy list leaves out the default policies {missing}: a default policy is "
            f"switched off only explicitly, by listing it as {hint}."
        )
    return enabled, disabled
