"""Endpoints huggingface_hub calls that ModelVault answers without a domain behind them:
YAML validation, agent harnesses, malformed Xet token routes (the real ones: ``web/xet``),
discussions.
"""

from __future__ import annotations

import asyncio

from ...core.hub.cards import parse_card
from ...errors import (
    InvalidInputError,
    NotFoundError,
)
from ...protocols import hf as wire
from ..base import vault_auth
from .base import HfHandler, plural_type


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
            "Unknown Xet token route: use xet-read-token/{revision} or xet-write-token/{revision}."
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
