"""The Simple Repository API as ModelVault serves it: PEP 503 HTML, PEP 691 JSON (API 1.1),
PEP 658/714 core metadata, PEP 592 yanking, PEP 700 size/upload-time.

File URLs are relative (``../../files/<sha256>/<filename>``) so that credentials given in the index
URL apply to them as well (shared/pypi-protocol.md §5.2).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from ..core.pypi.models import DistFile, ProjectPage

API_VERSION = "1.1"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"

Format = Literal["json", "html", "text/html"]
# Served type for each media type a client may name; meta-version 'latest' maps to v1.
_SUPPORTED: dict[str, Format] = {
    JSON_TYPE: "json",
    "application/vnd.pypi.simple.latest+json": "json",
    HTML_TYPE: "html",
    "application/vnd.pypi.simple.latest+html": "html",
    TEXT_HTML: "text/html",
    "*/*": "text/html",
    "text/*": "text/html",
    "application/*": "json",
}
# At equal quality: JSON first, text/html only as the last resort (PEP 691).
_PREFERENCE: dict[Format, int] = {"json": 0, "html": 1, "text/html": 2}
CONTENT_TYPES: dict[Format, str] = {
    "json": JSON_TYPE,
    "html": HTML_TYPE,
    "text/html": "text/html; charset=utf-8",
}


def negotiate(accept: str | None, override: str | None = None) -> Format | None:
    """Pick the response format from ``Accept`` (q-values honoured); None means 406.

    ``override`` is the optional ``?format=<media type>`` query parameter.
    """
    if override:
        # A literal "+" in a query string arrives as a space.
        return _SUPPORTED.get(override.replace(" ", "+").strip().lower())
    if not accept or not accept.strip():
        accept = "*/*"
    best: tuple[float, int, Format] | None = None
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        fmt = _SUPPORTED.get(media.lower())
        if fmt is None or q <= 0:
            continue
        candidate = (-q, _PREFERENCE[fmt], fmt)
        if best is None or candidate < best:
            best = candidate
    return None if best is None else best[2]


def file_href(f: DistFile) -> str:
    return f"../../files/{f.sha256}/{quote(f.filename, safe='')}"


def _upload_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def render_index(names: list[str], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(
            {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}
        )
    links = "\n".join(f'<a href="{quote(n)}/">{html.escape(n)}</a><br/>' for n in names)
    return _html("Simple index", links)


def _file_json(f: DistFile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filename": f.filename,
        "url": file_href(f),
        "hashes": {"sha256": f.sha256},
    }
    if f.requires_python:
        out["requires-python"] = f.requires_python
    # PEP 714: only 'core-metadata' in JSON; 'dist-info-metadata' breaks some pip releases.
    out["core-metadata"] = {"sha256": f.metadata_sha256} if f.metadata_sha256 else False
    out["yanked"] = (f.yanked or True) if f.yanked is not None else False
    if f.size is not None:
        out["size"] = f.size
    if f.upload_time is not None:
        out["upload-time"] = _upload_time(f.upload_time)
    return out


def render_project(page: ProjectPage, fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(
            {
                "meta": {"api-version": API_VERSION},
                "name": page.name,
                "versions": page.versions,
                "files": [_file_json(f) for f in page.files],
            }
        )
    rows = []
    for f in page.files:
        attrs = ""
        if f.requires_python:
            attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
        if f.metadata_sha256:
            value = f"sha256={f.metadata_sha256}"
            attrs += f' data-core-metadata="{value}" data-dist-info-metadata="{value}"'
        if f.yanked is not None:
            attrs += f' data-yanked="{html.escape(f.yanked)}"'
        href = html.escape(f"{file_href(f)}#sha256={f.sha256}")
        rows.append(f'<a href="{href}"{attrs}>{html.escape(f.filename)}</a><br/>')
    return _html(f"Links for {page.name}", "\n".join(rows))


def _html(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head>"
        f'<meta name="pypi:repository-version" content="{API_VERSION}">'
        f"<title>{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>\n"
        f"{body}\n</body></html>\n"
    )
