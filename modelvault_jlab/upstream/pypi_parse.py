"""Parse upstream PEP 691 (JSON) and PEP 503 (HTML) project pages into link records.

Upstream pages are untrusted input: a link is kept only with a sha256 hash (the cache is
content-addressed and verified), a safe filename and an http(s) URL. A page that is not valid JSON
/ HTML of the announced type is *malformed* and reported as an upstream failure.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from ..core.pypi.names import validate_filename
from ..errors import InvalidInputError, UpstreamUnavailableError
from ..storage.packages import RemoteLinkRecord

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class MalformedPageError(UpstreamUnavailableError):
    code = "UpstreamMalformed"


def parse_page(body: bytes, content_type: str, page_url: str) -> tuple[RemoteLinkRecord, ...]:
    """Raises MalformedPageError."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in (JSON_TYPE, "application/vnd.pypi.simple.latest+json"):
        return _parse_json(body, page_url)
    if ctype in ("text/html", "application/vnd.pypi.simple.v1+html", "application/xhtml+xml", ""):
        return _parse_html(body, page_url)
    raise MalformedPageError(f"unsupported Content-Type {ctype[:60]!r} for an index page")


def _sha256(value: Any) -> str | None:
    if isinstance(value, str) and _SHA256_RE.match(value.lower()):
        return value.lower()
    return None


def _link(
    filename: Any, href: Any, page_url: str, sha256: str | None, **extra: Any
) -> RemoteLinkRecord | None:
    if not isinstance(filename, str) or not isinstance(href, str) or sha256 is None:
        return None
    try:
        validate_filename(filename)
    except InvalidInputError:
        return None
    url, _ = urldefrag(urljoin(page_url, href))
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    return RemoteLinkRecord(filename=filename, sha256=sha256, url=url, **extra)


def _upload_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _yanked(value: Any) -> str | None:
    if value is True:
        return ""
    if isinstance(value, str) and value:
        return value
    return None


def _parse_json(body: bytes, page_url: str) -> tuple[RemoteLinkRecord, ...]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPageError("the JSON index page is not valid JSON") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise MalformedPageError("the JSON index page has no 'files' list")
    links = []
    for f in files:
        if not isinstance(f, dict):
            raise MalformedPageError("the JSON index page has a file entry that is not an object")
        hashes = f.get("hashes")
        meta = f.get("core-metadata", f.get("dist-info-metadata"))
        size = f.get("size")
        rp = f.get("requires-python")
        link = _link(
            f.get("filename"),
            f.get("url"),
            page_url,
            _sha256(hashes.get("sha256")) if isinstance(hashes, dict) else None,
            size=size if isinstance(size, int) and size >= 0 else None,
            requires_python=rp if isinstance(rp, str) and rp else None,
            yanked=_yanked(f.get("yanked")),
            upload_time=_upload_time(f.get("upload-time")),
            metadata_sha256=_sha256(meta.get("sha256")) if isinstance(meta, dict) else None,
        )
        if link is not None:
            links.append(link)
    return tuple(links)


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def _fragment_sha256(href: str) -> str | None:
    _, fragment = urldefrag(href)
    name, _, value = fragment.partition("=")
    return _sha256(value) if name == "sha256" else None


def _parse_html(body: bytes, page_url: str) -> tuple[RemoteLinkRecord, ...]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPageError("the HTML index page is not UTF-8") from None
    parser = _AnchorParser()
    try:
        parser.feed(text)
        parser.close()
    except (ValueError, AssertionError):
        raise MalformedPageError("the HTML index page cannot be parsed") from None
    links = []
    for attrs, anchor_text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        filename = anchor_text or unquote(urlsplit(href).path.rsplit("/", 1)[-1])
        meta = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata") or ""
        algo, _, meta_hash = meta.partition("=")
        yanked = attrs.get("data-yanked")
        link = _link(
            filename,
            href,
            page_url,
            _fragment_sha256(href),
            requires_python=attrs.get("data-requires-python") or None,
            yanked=None if "data-yanked" not in attrs else (yanked or ""),
            metadata_sha256=_sha256(meta_hash) if algo == "sha256" else None,
        )
        if link is not None:
            links.append(link)
    return tuple(links)
