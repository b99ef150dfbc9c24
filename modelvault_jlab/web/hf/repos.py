"""Hub repos: info, listing, create, delete, settings."""

from __future__ import annotations

from ...core.hub.refs import HubRef
from ...errors import (
    InvalidInputError,
    RepoExistsError,
)
from ...ids import validate_repo_type
from ...protocols import hf as wire
from ..base import vault_auth
from .base import HfHandler, plural_type


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
            self.vault.hub_write.create_repo(self.principal, ref, private=bool(private))
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
        self.vault.hub_write.delete_repo(self.principal, ref)
        self.write_json({})


class RepoSettingsHandler(HfHandler):
    @vault_auth
    def put(self, repository: str, types: str, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        private = body.get("private")
        if private is None and "visibility" in body:
            private = body["visibility"] != "public"
        repo = (
            self.vault.hub_write.update_repo(self.principal, ref, private=bool(private))
            if private is not None
            else self.vault.hub.get_repo(self.principal, ref)
        )
        self.write_json({"private": repo.private})
