"""Reading Xet files: read tokens, reconstructions behind the gate, and fetch capabilities.

The chain (protocol brief §4): a Hub credential buys a read token for one repo at one commit
(repo-level gate); a reconstruction with that token is the per-file choke point — the file must
be a file of that commit, and the judge must admit that file — and only then are fetch URLs
signed, for exactly the serialized byte ranges of this file's chunks. A neighbour that shares a
xorb (dedup) never gets URLs for chunks only a blocked file holds, because URLs are cut from the
admitted file's own terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import PermissionDeniedError
from ...ids import Sha256
from ...storage.blobs import BlobStore
from ...storage.meta import MetadataStore
from ...storage.records import FileEntry, XetFileRecord
from ..hub.judge import Judge, subject_of
from ..hub.read import HubService
from ..hub.refs import HubRef, Resolved
from ..identity import SYSTEM, Principal
from ..streaming import ContentStream
from .fetch import ByteRanges, FetchSigner, requested_ranges
from .reconstruction import Version, checked_range, plan, to_json
from .tokens import XetGrant, XetTokens

FetchUrlMaker = Callable[[str, str], str]
"""``(xorb hash, capability query)`` -> the absolute fetch URL (the web layer knows the origin)."""


@dataclass(frozen=True)
class ReadToken:
    token: str
    exp: int
    commit: str


@dataclass(frozen=True)
class AdmittedFile:
    """A Xet file the judge admitted for a grant, with what the audit needs."""

    record: XetFileRecord
    resolved: Resolved
    entry: FileEntry
    who: Principal


@dataclass(frozen=True)
class XorbSlice:
    """What a fetch URL may serve: ranges of the blob that stores a xorb."""

    blob_sha256: Sha256
    serialized_len: int
    ranges: ByteRanges


def _reader(grant: XetGrant) -> Principal:
    # The Hub credential was checked when the token was issued; the token names who it was.
    return Principal(name=grant.who or "xet-read-token", scope="read", kind="system")


class XetReads:
    def __init__(
        self,
        meta: MetadataStore,
        hub: HubService,
        judge: Judge,
        tokens: XetTokens,
        signer: FetchSigner,
        blobs: BlobStore,
        download_url: Callable[[Sha256], str | None] = lambda _: None,
    ) -> None:
        self._blobs = blobs
        self._download_url = download_url
        self._meta = meta
        self._hub = hub
        self._judge = judge
        self._tokens = tokens
        self._signer = signer

    async def read_token(self, who: Principal, ref: HubRef, revision: str | None) -> ReadToken:
        """A read token for the repo at the commit ``revision`` resolves to.

        Raises:
            RepoNotFoundError, RevisionNotFoundError, PermissionDeniedError; PolicyError when the
            whole repo is blocked at that commit.
        """
        resolved = await self._hub.resolve(who, ref, revision)
        await self._judge.admit_repo(who, ref.repository, resolved)
        # A virtual repository resolved in one of its members, chosen under ``who``'s access:
        # the token names that member, so a reconstruction never asks another one.
        member = resolved.source.key if resolved.source.key != ref.repository else ""
        token, exp = self._tokens.issue(
            ref.repository,
            ref.repo_type,
            ref.repo_id,
            resolved.commit.sha,
            "read",
            who=who.name,
            member=member,
        )
        return ReadToken(token, exp, resolved.commit.sha)

    async def admit_file(self, grant: XetGrant, file_hash: str) -> AdmittedFile:
        """The Xet file, if it is a file of the grant's commit and the judge admits it.

        Raises:
            PermissionDeniedError (403): unknown, or not reachable from the grant's repo (the
                same answer, so a token does not reveal what other repositories hold).
            PolicyError (403, audited): the judge blocks the file.
        """
        found = await self._reachable(grant, file_hash)
        if found is None:
            raise PermissionDeniedError(
                f"Xet file {file_hash[:64]} is not a file of {grant.repo_id}@{grant.revision}."
            )
        record, resolved, entry = found
        who = _reader(grant)
        await self._judge.admit_content(who, grant.repository, resolved, entry, record.sha256)
        return AdmittedFile(record, resolved, entry, who)

    async def _reachable(
        self, grant: XetGrant, file_hash: str
    ) -> tuple[XetFileRecord, Resolved, FileEntry] | None:
        record = self._meta.xet_file(file_hash)
        if record is None:
            return None
        # Access was checked when the token was issued; the commit is pinned in it, and for a
        # virtual repository the member it resolved in (as SYSTEM, the virtual repository would
        # ask every member in turn, including ones the requester may not read).
        ref = HubRef.parse(grant.member or grant.repository, grant.repo_type, grant.repo_id)
        resolved = await self._hub.resolve(SYSTEM, ref, grant.revision)
        entry = self._meta.file_with_sha256(resolved.repo.id, resolved.commit.sha, record.sha256)
        if entry is None or entry.size != record.size:
            return None
        return record, resolved, entry

    def reconstruction(
        self,
        admitted: AdmittedFile,
        start: int,
        end: int,
        version: Version,
        url_for: FetchUrlMaker,
    ) -> dict[str, Any]:
        """The reconstruction JSON of an admitted file's bytes ``[start, end)``, with fetch URLs
        signed for exactly the ranges it needs (a presigned object-store URL when redirects
        are on and the file needs the whole xorb). A plan from byte 0 is audited as a download
        (hf_xet asks for whole files from 0; range reads go through the resolve bridge).

        Raises:
            RangeNotSatisfiableError (416).
        """
        record = admitted.record
        start, end = checked_range(record.size, start, end)
        p = plan(record, self._meta.xorb_chunks, start, end)
        if start == 0:
            resolved = admitted.resolved
            cache = "hit" if resolved.source.kind == "hf-remote" else "local"  # held here
            self._hub.record_download(admitted.who, resolved, admitted.entry, record.sha256, cache)

        stored = {xorb: self._meta.get_xorb(xorb) for xorb in p.fetches}

        def sign(xorb: str, ranges: Sequence[tuple[int, int]]) -> str:
            record = stored[xorb]
            # The whole xorb is this admitted file's: an object-store URL of its blob reveals
            # nothing else (brief §4: a xorb shared by dedup must not be presigned whole).
            if record is not None and list(ranges) == [(0, record.serialized_len - 1)]:
                direct = self._download_url(record.blob_sha256)
                if direct is not None:
                    return direct
            return url_for(xorb, self._signer.sign(xorb, ranges).query())

        return to_json(p, version, sign)

    def fetch(
        self, xorb_hash: str, ranges: str, expires: str, signature: str, header: str | None
    ) -> XorbSlice:
        """What a fetch URL serves for a request's ``Range`` header.

        Raises:
            PermissionDeniedError (403): bad or expired capability, or a range outside it.
            NotFoundError: the xorb is gone.
        """
        signed = self._signer.verify(xorb_hash, ranges, expires, signature)
        wanted = requested_ranges(header, signed)
        xorb = self._meta.get_xorb(xorb_hash)
        if xorb is None or any(b >= xorb.serialized_len for _, b in wanted):
            raise PermissionDeniedError("This fetch URL no longer matches a stored xorb.")
        return XorbSlice(xorb.blob_sha256, xorb.serialized_len, wanted)

    def open_slice(self, xorb: XorbSlice) -> ContentStream:
        """The stored xorb blob, to send ``xorb.ranges`` of (sendfile on local files)."""
        return ContentStream(self._blobs, xorb.blob_sha256, None)

    async def xet_hashes(
        self, requested: str, resolved: Resolved, entries: Sequence[FileEntry]
    ) -> dict[str, str]:
        """Path -> Xet file hash of the listed Xet files the judge already admits on a stored
        verdict (tree, paths-info). With ``xetHash`` ``snapshot_download`` skips the resolve
        HEAD and goes straight to the reconstruction, where a refusal aborts the whole snapshot
        with a bare 403; so a file never scanned gets no ``xetHash`` and the client takes the
        resolve HEAD, which scans it and either offers Xet or answers the policy error with its
        reason. Listing never scans (it would make a tree of large files slow)."""
        found = {}
        for entry in entries:
            if entry.lfs:
                record = self._meta.xet_file_for_sha256(entry.sha256)
                if record is not None and record.size == entry.size:
                    found[entry.path] = (entry, record.file_hash)
        if not found:
            return {}
        subject = subject_of(requested, resolved)
        repo = await self._judge.repo_decision(subject, resolved)
        if repo.blocking is not None:
            return {}
        out = {}
        for path, (entry, xet_hash) in found.items():
            judged = await self._judge.file_content(subject, entry, entry.sha256, scan=False)
            if judged.scan is not None and repo.merge(judged.decision).blocking is None:
                out[path] = xet_hash
        return out

    def xet_hash(self, sha256: Sha256) -> str | None:
        """The Xet file hash of content ``sha256``, when it is stored as a Xet file."""
        record = self._meta.xet_file_for_sha256(sha256)
        return None if record is None else record.file_hash


__all__ = ["AdmittedFile", "ReadToken", "XetReads", "XorbSlice"]
