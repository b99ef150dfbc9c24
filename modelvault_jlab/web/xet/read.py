"""The read side of Xet: ``xet-read-token``, reconstructions and xorb fetch URLs.

The CAS lives under the Hub endpoint of a repository key: ``{hub}/cas`` (the ``casUrl`` a token
carries). Reconstructions authenticate with the Xet token (``Authorization: Bearer``), never a
vault token; fetch URLs carry their own signed capability (hf_xet sends them no credential).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from ...core.xet.read import XorbSlice
from ...core.xet.reconstruction import Version
from ...errors import RangeNotSatisfiableError
from ..base import parse_range, vault_auth
from ..hf.base import HfHandler, plural_type
from .cas import CasHandler, cas_url, send_token


class ReadTokenHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}/xet-read-token/{rev}``: JSON body AND headers (huggingface_hub
    reads the headers, hf_xet's refresh the body; brief §1.3 step 2)."""

    @vault_auth
    async def get(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        token = await self.vault.xet_reads.read_token(self.principal, ref, rev)
        send_token(self, token.token, token.exp, cas_url(self, repository))


class SignedUrlHandler(HfHandler):
    """A route whose URL is its credential (hf_xet sends fetch URLs no Authorization)."""

    actions: ClassVar[dict[str, Any]] = {}

    def _presented_credential(self) -> str | None:
        return None


class ReconstructionHandler(CasHandler):
    """``GET {cas}/v{1,2}/reconstructions/{file_hash}`` with ``Range`` honoured."""

    @vault_auth
    async def get(self, repository: str, version: str, file_hash: str) -> None:
        reads = self.vault.xet_reads
        admitted = await reads.admit_file(self.grant, file_hash)  # token checked in prepare
        record = admitted.record
        start, end = 0, record.size
        header = self.request.headers.get("Range")
        if header and record.size:
            bounds = parse_range(header, record.size)
            if bounds is None:
                raise RangeNotSatisfiableError(
                    f"Unsatisfiable range {header[:60]!r} for {record.size} bytes."
                )
            start, end = bounds
        fetch_base = f"{cas_url(self, repository)}/fetch"
        number: Version = 2 if version == "2" else 1
        body = reads.reconstruction(
            admitted, start, end, number, lambda xorb, query: f"{fetch_base}/{xorb}?{query}"
        )
        self.set_header("Cache-Control", "no-store")  # URLs inside expire
        self.write_json(body)


class FetchHandler(SignedUrlHandler):
    """``GET {cas}/fetch/{xorb}?r=&e=&s=``: the signed byte ranges of a stored xorb; 206 of
    exactly the asked range(s), each inside a signed one, else 403 (the client re-queries)."""

    @vault_auth
    async def get(self, repository: str, xorb_hash: str) -> None:
        reads = self.vault.xet_reads
        xorb = reads.fetch(
            xorb_hash,
            self.get_query_argument("r", ""),
            self.get_query_argument("e", ""),
            self.get_query_argument("s", ""),
            self.request.headers.get("Range"),
        )
        self.set_header("Cache-Control", "no-store")
        self.set_status(206)
        if len(xorb.ranges) == 1:
            content = reads.open_slice(xorb)
            first, last = xorb.ranges[0]
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Range", f"bytes {first}-{last}/{xorb.serialized_len}")
            self.set_header("Content-Length", str(last - first + 1))
            await self.send_content(content, first, last + 1)
            return
        boundary = secrets.token_hex(16)
        heads = [_part_head(boundary, a, b, xorb.serialized_len) for a, b in xorb.ranges]
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = sum(len(h) + b - a + 1 for h, (a, b) in zip(heads, xorb.ranges, strict=True))
        self.set_header("Content-Type", f"multipart/byteranges; boundary={boundary}")
        self.set_header("Content-Length", str(length + len(tail)))
        await self.send_chunks(_multipart(self, xorb, heads, tail))


def _part_head(boundary: str, first: int, last: int, total: int) -> bytes:
    return (
        f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Range: bytes {first}-{last}/{total}\r\n\r\n"
    ).encode()


async def _multipart(
    handler: FetchHandler, xorb: XorbSlice, heads: list[bytes], tail: bytes
) -> AsyncIterator[bytes]:
    content = handler.vault.xet_reads.open_slice(xorb)
    chunk = handler.context.download_chunk_bytes
    for head, (first, last) in zip(heads, xorb.ranges, strict=True):
        yield head
        async for data in content.chunks(first, last + 1, chunk):
            yield data
    yield tail
