"""Hugging Face Hub endpoints under ``{base_url}modelvault/hf/{repository}/``.

Each handler parses the request, makes one call on the vault and writes what huggingface_hub 2.4
expects (shared/hf-protocol.md). Errors carry ``X-Error-Code``/``X-Error-Message`` so the stock
client raises its own typed exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import tempfile
from typing import IO, Any, ClassVar
from urllib.parse import quote, urlencode

import yaml
from tornado import iostream, web

from ..core.content import git_blob_oid
from ..core.hub import ContentStream, DeletePath, HubRef, Operation, PutFile, Resolved
from ..core.identity import Action
from ..errors import (
    AuthenticationError,
    EntryNotFoundError,
    InvalidInputError,
    NotFoundError,
    RepoExistsError,
    VaultError,
)
from ..ids import validate_repo_type
from ..protocols import hf as wire
from ..storage.base import FileEntry
from .base import VaultHandler, log, vault_auth
from .errors import hf_error_code

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class HfHandler(VaultHandler):
    """Hub routes: errors in the Hub's own shape."""

    actions: ClassVar[dict[str, Action | None]] = {
        "GET": "read",
        "HEAD": "read",
        "POST": "write",
        "PUT": "write",
        "DELETE": "write",
    }

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status, message, exc = self.error_details(kwargs)
        self.set_status(status)
        code = hf_error_code(exc) if exc is not None else None
        if code:
            self.set_header(wire.HEADER_ERROR_CODE, code)
        # The client shows this text verbatim.
        self.set_header(wire.HEADER_ERROR_MESSAGE, _header_text(message))
        if isinstance(exc, EntryNotFoundError) and exc.details.get("commit"):
            # Lets the client cache the absence (.no_exist/<sha>/<path>) instead of re-probing.
            self.set_header(wire.HEADER_REPO_COMMIT, exc.details["commit"])
        if status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="ModelVault"')
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        if self.request.method == "HEAD":
            self.finish()
            return
        self.finish(json.dumps({"error": message}))

    def endpoint(self, repository: str) -> str:
        return f"{self.public_base()}modelvault/hf/{repository}"

    def hub_ref(self, repository: str, repo_type: str | None, namespace: str, name: str) -> HubRef:
        return HubRef.parse(repository, repo_type, f"{namespace}/{name}")

    def repo_url(self, ref: HubRef) -> str:
        return f"{self.endpoint(ref.repository)}/{wire.TYPE_PREFIX[ref.repo_type]}{ref.repo_id}"

    def warn_if_stale(self, resolved: Resolved) -> None:
        if resolved.warning:
            # huggingface_hub logs X-HF-Warning once per topic.
            self.add_header("X-HF-Warning", f"ModelVault; {_header_text(resolved.warning)}")

    def flag(self, name: str) -> bool:
        return self.get_argument(name, "false").lower() in ("1", "true", "yes")


def _header_text(text: str) -> str:
    """Header values must be one line of latin-1."""
    return " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")


def _plural(repo_types: str) -> str:
    return wire.TYPE_FROM_PLURAL[repo_types]


# ------------------------------------------------------------------------------------------------
# Downloads
# ------------------------------------------------------------------------------------------------
class ResolveHandler(HfHandler):
    """``HEAD``/``GET /{type-prefix}{ns}/{name}/resolve/{rev}/{path}``: metadata and bytes."""

    async def _locate(
        self, repository: str, prefix: str | None, ns: str, name: str, rev: str, path: str
    ) -> tuple[Resolved, FileEntry]:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        return resolved, self.vault.hub.file(resolved, path)

    @vault_auth
    async def head(self, *args: str) -> None:
        await self._serve(*args, send_body=False)

    @vault_auth
    async def get(self, *args: str) -> None:
        await self._serve(*args, send_body=True)

    async def _serve(
        self,
        repository: str,
        prefix: str | None,
        ns: str,
        name: str,
        rev: str,
        path: str,
        *,
        send_body: bool,
    ) -> None:
        resolved, entry = await self._locate(repository, prefix, ns, name, rev, path)
        self.warn_if_stale(resolved)
        # Policy first: a blocked file answers 403 + GatedRepo with the reason, HEAD included.
        for warning in await self.vault.hub.admit(self.principal, repository, resolved, entry):
            self.add_header("X-HF-Warning", f"ModelVault policy; {_header_text(warning)}")
        size = entry.size
        etag = wire.etag_of(entry)
        self.set_header(wire.HEADER_REPO_COMMIT, resolved.commit.sha)
        self.set_header("ETag", f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_ETAG, f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_SIZE, str(size))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Content-Type", "application/octet-stream")
        filename = path.rsplit("/", 1)[-1]
        self.set_header(
            "Content-Disposition",
            f"inline; filename*=UTF-8''{quote(filename)}; filename=\"{quote(filename)}\"",
        )
        if resolved.commit.sha == resolved.revision:
            self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        start, end = 0, size
        header = self.request.headers.get("Range")
        if header:
            m = _RANGE.match(header.strip())
            parsed = _parse_range(m, size) if m else None
            if parsed is None:
                self.set_status(416)
                self.set_header("Content-Range", f"bytes */{size}")
                self.set_header(
                    wire.HEADER_ERROR_MESSAGE, f"Unsatisfiable range {header!r} for {size} bytes."
                )
                self.finish()
                return
            start, end = parsed
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.set_header("Content-Length", str(end - start))
        if not send_body:
            self.finish()
            return
        # Opened before any byte is sent, so upstream errors still get a clean answer.
        content = await self.vault.hub.open(self.principal, repository, resolved, entry)
        self.vault.hub.record_download(self.principal, resolved, entry)
        await self._stream(content, start, end)

    async def _stream(self, content: ContentStream, start: int, end: int) -> None:
        try:
            async for chunk in content.chunks(start, end, self.context.download_chunk_bytes):
                self.write(chunk)
                await self.flush()
        except iostream.StreamClosedError:
            return
        except VaultError as exc:
            # Headers are out: cut the connection so the client sees a short body, never a
            # complete-looking file.
            log.warning("Download of %s cut short: %s", self.request.path, exc.message)
            self.request.connection.close()  # type: ignore[union-attr]
            return
        self.finish()


def _parse_range(m: re.Match[str], size: int) -> tuple[int, int] | None:
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            return None
        return max(size - n, 0), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or start >= end:
        return None
    return start, end


# ------------------------------------------------------------------------------------------------
# Repo metadata
# ------------------------------------------------------------------------------------------------
class RepoInfoHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}[/revision/{rev}]``."""

    @vault_auth
    async def get(
        self, repository: str, types: str, ns: str, name: str, rev: str | None = None
    ) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        self.warn_if_stale(resolved)
        files = self.vault.hub.files(resolved)
        card = await self.vault.hub.card(resolved)
        self.write_json(wire.repo_info(resolved, files, card, blobs=self.flag("blobs")))


class RepoListHandler(HfHandler):
    """``GET /api/{T}``: repos of one type in this repository (``list_models`` etc.)."""

    @vault_auth
    def get(self, repository: str, types: str) -> None:
        limit = self.int_arg("limit", 100)
        after = self.get_argument("cursor", None)
        repos = self.vault.hub.list_repos(
            self.principal, repository, validate_repo_type(_plural(types)), after, limit
        )
        search = self.get_argument("search", "")
        author = self.get_argument("author", "")
        items = [
            wire.repo_summary(r)
            for r in repos
            if search.lower() in r.repo_id.lower()
            and (not author or r.repo_id.startswith(author + "/"))
        ]
        if len(repos) == min(max(limit, 1), 1000) and repos:
            url = self.same_url_with(cursor=repos[-1].repo_id)
            self.set_header("Link", f'<{url}>; rel="next"')
        self.write_json(items)


class TreeHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}/tree/{rev}[/{path}]``, paged with an absolute ``Link``."""

    @vault_auth
    async def get(
        self, repository: str, types: str, ns: str, name: str, rev: str, path: str | None = None
    ) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        limit = self.int_arg("limit", 1000)
        page = self.vault.hub.tree(
            resolved,
            path or "",
            recursive=self.flag("recursive"),
            cursor=self.get_argument("cursor", None),
            limit=limit,
        )
        if page.next_cursor:
            url = self.same_url_with(cursor=page.next_cursor)
            self.set_header("Link", f'<{url}>; rel="next"')
        self.write_json([wire.tree_entry(e) for e in page.entries])


class PathsInfoHandler(HfHandler):
    """``POST /api/{T}/{ns}/{name}/paths-info/{rev}`` (form or JSON ``paths``)."""

    actions = {"POST": "read"}

    @vault_auth
    async def post(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        paths = self.get_body_arguments("paths")
        if not paths and self.request.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            body = self.json_body()
            paths = body.get("paths", []) if isinstance(body, dict) else []
        if len(paths) > 10_000:
            raise InvalidInputError("At most 10000 paths per request.")
        entries = self.vault.hub.paths_info(resolved, [str(p) for p in paths])
        self.write_json([wire.tree_entry(e) for e in entries])


class RefsHandler(HfHandler):
    @vault_auth
    async def get(self, repository: str, types: str, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        records = await self.vault.hub.refs(self.principal, ref)
        self.write_json(wire.refs(records, self.flag("include_prs")))


class CommitsHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}/commits/{rev}?p=N``, 50 per page like the Hub."""

    page_size = 50

    @vault_auth
    async def get(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        page = self.int_arg("p", 0)
        if page < 0:
            raise InvalidInputError("Page numbers start at 0.")
        commits = self.vault.hub.commits(resolved, page * self.page_size, self.page_size + 1)
        if len(commits) > self.page_size:
            self.set_header("Link", f'<{self.same_url_with(p=str(page + 1))}>; rel="next"')
        self.write_json([wire.commit_item(c) for c in commits[: self.page_size]])


# ------------------------------------------------------------------------------------------------
# Repo management
# ------------------------------------------------------------------------------------------------
class CreateRepoHandler(HfHandler):
    """``POST /api/repos/create``; a 409 still carries ``url`` (the client parses it)."""

    @vault_auth
    def post(self, repository: str) -> None:
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise InvalidInputError("Expected JSON with 'name'.")
        namespace = body.get("organization") or self.principal.name
        repo_type = validate_repo_type(body.get("type"))
        ref = HubRef.parse(repository, repo_type, f"{namespace}/{body['name']}")
        private = body.get("private")
        if private is None:
            private = body.get("visibility", "private") != "public"
        url = self.repo_url(ref)
        try:
            self.vault.hub.create_repo(self.principal, ref, private=bool(private))
        except RepoExistsError as exc:
            self.set_header(wire.HEADER_ERROR_MESSAGE, exc.message)
            self.write_json({"error": exc.message, "url": url}, status=409)
            return
        self.write_json({"url": url, "name": ref.repo_id, "id": ref.repo_id})


class DeleteRepoHandler(HfHandler):
    @vault_auth
    def delete(self, repository: str) -> None:
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise InvalidInputError("Expected JSON with 'name'.")
        namespace = body.get("organization") or self.principal.name
        ref = HubRef.parse(repository, body.get("type"), f"{namespace}/{body['name']}")
        self.vault.hub.delete_repo(self.principal, ref)
        self.write_json({})


class RepoSettingsHandler(HfHandler):
    @vault_auth
    def put(self, repository: str, types: str, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        private = body.get("private")
        if private is None and "visibility" in body:
            private = body["visibility"] != "public"
        repo = (
            self.vault.hub.update_repo(self.principal, ref, private=bool(private))
            if private is not None
            else self.vault.hub.get_repo(self.principal, ref)
        )
        self.write_json({"private": repo.private})


class BranchHandler(HfHandler):
    @vault_auth
    def post(self, repository: str, types: str, ns: str, name: str, branch: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        body = self.json_body() or {}
        start = body.get("startingPoint") if isinstance(body, dict) else None
        self.vault.hub.create_branch(self.principal, ref, branch, start)
        self.write_json({})

    @vault_auth
    def delete(self, repository: str, types: str, ns: str, name: str, branch: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        self.vault.hub.delete_branch(self.principal, ref, branch)
        self.write_json({})


class TagHandler(HfHandler):
    """``POST …/tag/{revision}`` names the revision to tag; ``DELETE …/tag/{tag}`` the tag."""

    @vault_auth
    def post(self, repository: str, types: str, ns: str, name: str, revision: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("tag"), str):
            raise InvalidInputError("Expected JSON with 'tag'.")
        self.vault.hub.create_tag(
            self.principal, ref, revision, body["tag"], str(body.get("message") or "")
        )
        self.write_json({})

    @vault_auth
    def delete(self, repository: str, types: str, ns: str, name: str, tag: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        self.vault.hub.delete_tag(self.principal, ref, tag)
        self.write_json({})


# ------------------------------------------------------------------------------------------------
# Uploads
# ------------------------------------------------------------------------------------------------
class PreuploadHandler(HfHandler):
    """Small files travel inline ('regular'); large ones go through Git LFS."""

    @vault_auth
    async def post(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        body = self.json_body()
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list):
            raise InvalidInputError("Expected JSON with a 'files' list.")
        limit = self.vault.options.regular_upload_max_bytes
        out = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise InvalidInputError("Each file needs a 'path'.")
            size = item.get("size", 0)
            mode = "regular" if isinstance(size, int) and size <= limit else "lfs"
            entry: dict[str, Any] = {
                "path": item["path"],
                "uploadMode": mode,
                "shouldIgnore": False,
            }
            oid = (
                self.vault.hub.existing_oid(resolved, item["path"])
                if _valid_path(item["path"])
                else None
            )
            if oid:
                entry["oid"] = oid
            out.append(entry)
        self.write_json({"files": out})


def _valid_path(path: str) -> bool:
    from ..ids import validate_repo_path

    try:
        validate_repo_path(path)
    except InvalidInputError:
        return False
    return True


@web.stream_request_body
class CommitHandler(HfHandler):
    """``POST /api/{T}/{ns}/{name}/commit/{rev}``: an NDJSON body, spooled to disk as it arrives.

    Inline (regular) content is decoded line by line into blobs, so memory stays bounded by one
    line however large the commit is.
    """

    max_body_bytes = 4 * 1024**3

    async def prepare(self) -> None:
        await super().prepare()
        self.request.connection.set_max_body_size(self.max_body_bytes)  # type: ignore[union-attr]
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    def data_received(self, chunk: bytes) -> None:
        self._spool.write(chunk)

    def on_finish(self) -> None:
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()

    def on_connection_close(self) -> None:
        self.on_finish()

    @vault_auth
    def post(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        self._spool.seek(0)
        header: dict[str, Any] = {}
        operations: list[Operation] = []
        line_limit = self.vault.options.regular_upload_max_bytes * 4 // 3 + 64 * 1024
        for number, line in enumerate(_lines(self._spool, line_limit), start=1):
            key, value = _ndjson_item(line, number)
            if key == "header":
                header = value
            elif key == "file":
                operations.append(self._inline_file(value, number))
            elif key == "lfsFile":
                if value.get("algo", "sha256") != "sha256" or not isinstance(value.get("oid"), str):
                    raise InvalidInputError(f"Line {number}: lfsFile needs a sha256 'oid'.")
                size = value.get("size")
                operations.append(PutFile(_str(value, "path", number), value["oid"], size, None))
            elif key == "deletedFile":
                operations.append(DeletePath(_str(value, "path", number), folder=False))
            elif key == "deletedFolder":
                operations.append(DeletePath(_str(value, "path", number).rstrip("/"), folder=True))
            else:
                raise InvalidInputError(f"Line {number}: unknown operation {key!r}.")
        result = self.vault.hub.commit(
            self.principal,
            ref,
            rev,
            operations,
            title=str(header.get("summary") or "Commit"),
            message=str(header.get("description") or ""),
            parent_commit=header.get("parentCommit") or None,
            create_pr=self.flag("create_pr"),
        )
        url = self.repo_url(ref)
        body: dict[str, Any] = {
            "success": True,
            "commitOid": result.commit.sha,
            "commitUrl": f"{url}/commit/{result.commit.sha}",
            "commitMessage": result.commit.title,
        }
        if result.pr_number is not None:
            body["pullRequestUrl"] = f"{url}/discussions/{result.pr_number}"
        self.write_json(body)

    def _inline_file(self, value: dict[str, Any], number: int) -> PutFile:
        path = _str(value, "path", number)
        if value.get("encoding", "base64") != "base64":
            raise InvalidInputError(f"Line {number}: only base64 content is supported.")
        try:
            data = base64.b64decode(_str(value, "content", number), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError(
                f"Line {number}: content of {path} is not valid base64."
            ) from None
        info = self.vault.content.put_bytes(data)
        return PutFile(path, info.sha256, info.size, git_blob_oid(data))


def _lines(spool: IO[bytes], limit: int) -> Any:
    number = 0
    while True:
        line = spool.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            raise InvalidInputError(
                f"Line {number} of the commit is longer than {limit} bytes: "
                "large files must be uploaded through LFS."
            )
        if line.strip():
            yield line


def _ndjson_item(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    try:
        item = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(f"Line {number} of the commit is not valid JSON.") from None
    if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
        raise InvalidInputError(f"Line {number}: expected {{'key': …, 'value': {{…}}}}.")
    return str(item.get("key")), item["value"]


def _str(value: dict[str, Any], field: str, number: int) -> str:
    v = value.get(field)
    if not isinstance(v, str):
        raise InvalidInputError(f"Line {number}: '{field}' must be a string.")
    return v


class LfsBatchHandler(HfHandler):
    """``POST /{tp}{ns}/{name}.git/info/lfs/objects/batch``: which objects to upload, and where."""

    @vault_auth
    def post(self, repository: str, prefix: str | None, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or body.get("operation") != "upload":
            raise InvalidInputError("Only the LFS 'upload' operation is supported here.")
        raw = body.get("objects")
        if not isinstance(raw, list) or not raw:
            raise InvalidInputError("Expected a non-empty 'objects' list.")
        objects = [(str(o.get("oid")), o.get("size")) for o in raw if isinstance(o, dict)]
        results = self.vault.lfs.batch(self.principal, ref, objects)
        base = f"{self.endpoint(repository)}/lfs-objects"
        out = []
        transfer = "basic"
        for r in results:
            obj: dict[str, Any] = {"oid": r.oid, "size": r.size, "authenticated": True}
            if r.grant is not None:
                g = r.grant
                query = urlencode({"exp": g.expires_at, "sig": g.signature, "ps": g.part_size or 0})
                href = f"{base}/{g.oid}/{g.size}"
                verify = f"{self.repo_url(ref)}.git/info/lfs/objects/verify"
                if g.part_size is not None and g.part_count is not None:
                    transfer = "multipart"
                    header: dict[str, str] = {"chunk_size": str(g.part_size)}
                    for n in range(1, g.part_count + 1):
                        header[str(n)] = f"{href}/part/{n}?{query}"
                    obj["actions"] = {
                        "upload": {"href": f"{href}/complete?{query}", "header": header},
                        "verify": {"href": verify},
                    }
                else:
                    obj["actions"] = {
                        "upload": {"href": f"{href}?{query}"},
                        "verify": {"href": verify},
                    }
            out.append(obj)
        self.set_header("Content-Type", "application/vnd.git-lfs+json")
        self.finish(json.dumps({"transfer": transfer, "objects": out}))


class LfsVerifyHandler(HfHandler):
    @vault_auth
    def post(self, repository: str, prefix: str | None, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("size"), int):
            raise InvalidInputError("Expected JSON with 'oid' and 'size'.")
        self.vault.lfs.verify(self.principal, ref, str(body.get("oid")), body["size"])
        self.write_json({"message": "verified"})


@web.stream_request_body
class LfsObjectHandler(HfHandler):
    """The pre-authorised upload URL: ``PUT`` of one object (or one part of it).

    The body streams into a blob writer; the object becomes visible only once its sha256 and size
    match the grant. A body that ends early, or a dropped connection, leaves nothing behind.
    """

    actions = {"PUT": None, "POST": None}  # the client sends no token: the URL's signature decides

    async def prepare(self) -> None:
        await super().prepare()
        repository, oid, size, part = (
            self.path_args[0],
            self.path_args[1],
            self.path_args[2],
            self.path_args[3],
        )
        self.grant = self.vault.lfs.check_grant(
            repository,
            oid,
            int(size),
            self.int_arg("exp", 0),
            self.get_query_argument("sig", ""),
            self.int_arg("ps", 0) or None,
        )
        self.part_number = int(part) if part else None
        self.writer = None
        self.completion = bytearray()
        if self.request.method != "PUT":
            self.request.connection.set_max_body_size(1 << 20)  # type: ignore[union-attr]
            return
        expected = (
            self.vault.lfs.part_bounds(self.grant, self.part_number)
            if self.part_number is not None
            else self.grant.size
        )
        if self.part_number is None and self.grant.part_size is not None:
            raise InvalidInputError("This object must be uploaded in parts.")
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared != str(expected):
            raise InvalidInputError(
                f"Content-Length {declared} does not match the announced size {expected}."
            )
        self.expected_size = expected
        self.request.connection.set_max_body_size(expected)  # type: ignore[union-attr]
        self.writer = self.vault.content.writer()

    def data_received(self, chunk: bytes) -> None:
        if self.writer is not None:
            self.writer.write(chunk)
        else:
            self.completion += chunk  # the small JSON of a multipart completion

    def on_connection_close(self) -> None:
        if self.writer is not None:
            self.writer.abort()

    def on_finish(self) -> None:
        if self.writer is not None:
            self.writer.abort()  # no-op after a successful commit

    @vault_auth
    async def put(self, repository: str, oid: str, size: str, part: str | None = None) -> None:
        assert self.writer is not None
        if self.part_number is not None:
            # Parts are plain (unregistered) blobs named by their sha256, which is their ETag.
            part_info = self.writer.commit(None, self.expected_size)
            self.set_header("ETag", f'"{part_info.sha256}"')
            self.finish()
            return
        blob = self.vault.content.finish(self.writer, self.grant.oid, self.grant.size)
        self.vault.lfs.finish_upload(self.grant, blob)
        # Scanned on arrival, so the commit that references it finds the verdict ready.
        await asyncio.to_thread(self.vault.gate.scan, blob.sha256)
        self.finish()

    @vault_auth
    def post(self, repository: str, oid: str, size: str, part: str | None = None) -> None:
        """Multipart completion: ``{"oid", "parts": [{"partNumber", "etag"}]}``."""
        self.request.body = bytes(self.completion)
        body = self.json_body()
        parts = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(parts, list):
            raise InvalidInputError("Expected JSON with a 'parts' list.")
        pairs = [
            (p["partNumber"], str(p.get("etag", "")))
            for p in parts
            if isinstance(p, dict) and isinstance(p.get("partNumber"), int)
        ]
        self.vault.lfs.complete_multipart(self.grant, pairs)
        self.write_json({"message": "completed"})


# ------------------------------------------------------------------------------------------------
# Account and odds and ends
# ------------------------------------------------------------------------------------------------
class WhoAmIHandler(HfHandler):
    @vault_auth
    def get(self, repository: str) -> None:
        p = self.principal
        if p.is_anonymous:
            raise AuthenticationError("Not authenticated: set HF_TOKEN to a ModelVault token.")
        self.write_json(
            {
                "type": "user",
                "id": p.token_id or p.name,
                "name": p.name,
                "fullname": p.name,
                "orgs": [],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": p.token_id or p.name, "role": p.scope},
                },
            }
        )


class ValidateYamlHandler(HfHandler):
    actions = {"POST": "read"}

    @vault_auth
    def post(self, repository: str) -> None:
        body = self.json_body()
        content = body.get("content", "") if isinstance(body, dict) else ""
        errors: list[dict[str, str]] = []
        if isinstance(content, str) and content.startswith("---"):
            end = content.find("\n---", 3)
            try:
                yaml.safe_load(content[3:end] if end > 0 else content[3:])
            except yaml.YAMLError as exc:
                errors.append({"message": f"Invalid YAML in the model card: {exc}"})
        if errors:
            self.write_json({"errors": errors, "warnings": []}, status=400)
            return
        self.write_json({"errors": [], "warnings": []})


class AgentHarnessesHandler(HfHandler):
    """Telemetry probe the client sends without a token; answering it reveals nothing."""

    actions = {"GET": None}

    @vault_auth
    def get(self, repository: str) -> None:
        self.write_json({"standardEnvVars": [], "harnesses": {}})


class XetTokenHandler(HfHandler):
    @vault_auth
    def get(self, repository: str, *args: str) -> None:
        raise NotFoundError(
            "ModelVault serves files over plain HTTP and Git LFS, not Xet: "
            "set HF_HUB_DISABLE_XET=1 to upload large files."
        )


class DiscussionsHandler(HfHandler):
    """Pull requests exist as ``refs/pr/N``; discussions themselves are not stored."""

    @vault_auth
    async def get(
        self, repository: str, types: str, ns: str, name: str, num: str | None = None
    ) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        if num is None:
            self.vault.hub.get_repo(self.principal, ref)
            self.write_json({"discussions": [], "count": 0, "start": 0, "numClosedDiscussions": 0})
            return
        refs = {r.name: r for r in await self.vault.hub.refs(self.principal, ref) if r.kind == "pr"}
        if num not in refs:
            raise NotFoundError(f"Pull request #{num[:12]} does not exist.")
        repo = self.vault.hub.get_repo(self.principal, ref)
        self.write_json(
            {
                "num": int(num),
                "title": f"Pull request {num}",
                "status": "open",
                "isPullRequest": True,
                "createdAt": wire.hub_date(repo.created_at),
                "author": {"name": repo.created_by},
                "repo": {"name": ref.repo_id, "type": ref.repo_type},
                "events": [],
                "changes": {"base": "refs/heads/main"},
                "filesWithConflicts": [],
            }
        )

    @vault_auth
    def post(self, repository: str, types: str, ns: str, name: str, num: str | None = None) -> None:
        ref = self.hub_ref(repository, _plural(types), ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or not body.get("pullRequest"):
            raise InvalidInputError("Only pull requests can be opened here (pullRequest: true).")
        number = self.vault.hub.open_pull_request(self.principal, ref)
        self.write_json({"num": number, "url": f"{self.repo_url(ref)}/discussions/{number}"})
