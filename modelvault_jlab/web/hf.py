"""Hugging Face Hub endpoints under ``{base_url}modelvault/hf/{repository}/``.

Each handler parses the request, makes one call on the vault and writes what huggingface_hub 2.4
expects (shared/hf-protocol.md). Errors carry ``X-Error-Code``/``X-Error-Message`` so the stock
client raises its own typed exceptions.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar
from urllib.parse import quote

from ..core.cards import parse_card
from ..core.hub import HubRef, Resolved
from ..core.identity import Action
from ..errors import (
    AuthenticationError,
    EntryNotFoundError,
    InvalidInputError,
    NotFoundError,
)
from ..ids import validate_repo_type
from ..protocols import hf as wire
from ..storage.base import FileEntry
from .base import VaultHandler, vault_auth
from .errors import hf_error_code


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
        self.set_header(wire.HEADER_ERROR_MESSAGE, header_text(message))
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
            self.add_header("X-HF-Warning", f"ModelVault; {header_text(resolved.warning)}")

    def flag(self, name: str) -> bool:
        return self.get_argument(name, "false").lower() in ("1", "true", "yes")


def header_text(text: str) -> str:
    """Header values must be one line of latin-1."""
    return " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")


def plural_type(repo_types: str) -> str:
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
        for warning in await self.vault.judge.admit(self.principal, repository, resolved, entry):
            self.add_header("X-HF-Warning", f"ModelVault policy; {header_text(warning)}")
        size = entry.size
        etag = wire.etag_of(entry)
        self.set_header(wire.HEADER_REPO_COMMIT, resolved.commit.sha)
        self.set_header("ETag", f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_ETAG, f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_SIZE, str(size))
        self.set_header("Content-Type", "application/octet-stream")
        filename = path.rsplit("/", 1)[-1]
        self.set_header(
            "Content-Disposition",
            f"inline; filename*=UTF-8''{quote(filename)}; filename=\"{quote(filename)}\"",
        )
        if resolved.commit.sha == resolved.revision:
            self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        cache = self.vault.hub.cache_state(resolved, entry)  # before serving fills the cache
        location = self.vault.hub.download_url(resolved, entry)  # only now: the gate admitted it
        if location is not None:
            # Cross-origin: huggingface_hub reads the metadata above from the 3xx itself (HEAD
            # included) and GETs Location without Authorization (shared/hf-protocol.md).
            self.set_header("Cache-Control", "private, no-store")  # the URL expires
            self.clear_header("Content-Disposition")
            self.redirect(location, status=302)
            if send_body:
                self.vault.hub.record_download(self.principal, resolved, entry, cache)
            return
        bounds = self.byte_range(size)
        if bounds is None:
            return
        start, end = bounds
        if not send_body:
            self.finish()
            return
        # Opened before any byte is sent, so upstream errors still get a clean answer.
        content = await self.vault.hub.open(self.principal, repository, resolved, entry)
        if await self.send_content(content, start, end):  # audited once served (sha known then)
            self.vault.hub.record_download(self.principal, resolved, entry, cache)


# ------------------------------------------------------------------------------------------------
# Repo metadata
# ------------------------------------------------------------------------------------------------
class RepoInfoHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}[/revision/{rev}]``."""

    @vault_auth
    async def head(self, *args: str) -> None:
        """Repo existence checks (olah and others HEAD the API): the GET without its body."""
        await self.get(*args)

    @vault_auth
    async def get(
        self, repository: str, types: str, ns: str, name: str, rev: str | None = None
    ) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        self.warn_if_stale(resolved)
        files = self.vault.hub.files(resolved)
        card = await self.vault.hub.card(resolved)
        self.write_json(wire.repo_info(resolved, files, card.data, blobs=self.flag("blobs")))


class RepoListHandler(HfHandler):
    """``GET /api/{T}``: repos of one type in this repository (``list_models`` etc.)."""

    @vault_auth
    def get(self, repository: str, types: str) -> None:
        limit = self.int_arg("limit", 100)
        after = self.get_argument("cursor", None)
        repos = self.vault.hub.list_repos(
            self.principal, repository, validate_repo_type(plural_type(types)), after, limit
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
        ref = self.hub_ref(repository, plural_type(types), ns, name)
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
        ref = self.hub_ref(repository, plural_type(types), ns, name)
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
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        records = await self.vault.hub.refs(self.principal, ref)
        self.write_json(wire.refs(records, self.flag("include_prs")))


class CommitsHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}/commits/{rev}?p=N``, 50 per page like the Hub."""

    page_size = 50
    max_page = 10**9

    @vault_auth
    async def get(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        page = self.int_arg("p", 0)
        if not 0 <= page <= self.max_page:  # the offset must fit SQL's 64-bit integers
            raise InvalidInputError(f"Page numbers run from 0 to {self.max_page}.")
        commits = self.vault.hub.commits(resolved, page * self.page_size, self.page_size + 1)
        if len(commits) > self.page_size:
            self.set_header("Link", f'<{self.same_url_with(p=str(page + 1))}>; rel="next"')
        self.write_json([wire.commit_item(c) for c in commits[: self.page_size]])


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
    async def post(self, repository: str) -> None:
        body = self.json_body()
        content = body.get("content", "") if isinstance(body, dict) else ""
        errors: list[dict[str, str]] = []
        if isinstance(content, str) and content.startswith("---"):
            # The same bounded parser the gate reads cards with, off the event loop.
            closed = content if content.find("\n---", 3) > 0 else content + "\n---\n"
            card = await asyncio.to_thread(parse_card, closed)
            if card.error:
                errors.append({"message": f"Invalid model card: {card.error}"})
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
        ref = self.hub_ref(repository, plural_type(types), ns, name)
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
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or not body.get("pullRequest"):
            raise InvalidInputError("Only pull requests can be opened here (pullRequest: true).")
        number = self.vault.hub_write.open_pull_request(self.principal, ref)
        self.write_json({"num": number, "url": f"{self.repo_url(ref)}/discussions/{number}"})
