"""The model page's overview of a Hub repo (files, decision and lineage have their own routes).

``GET modelvault/api/repositories/{key}/hub/{type}/{ns}/{name}/overview?revision=`` answers the
README text, the card's front matter (or why it was refused), branches, tags and recent commits,
the base-model chain, the bundles that pin the repo and, for a mirrored repo, cache state and
upstream. One call into :func:`..core.model_overview.model_overview`.
"""

from __future__ import annotations

from typing import Any

from ...core.hub.refs import HubRef
from ...core.model_overview import card_summary, model_overview
from ..base import vault_auth
from .base import ApiHandler
from .hub_files import _TYPES as REPO_TYPES  # one mapping of URL segment to repo type


class HubOverviewHandler(ApiHandler):
    @vault_auth
    async def get(self, key: str, repo_type: str, namespace: str, name: str) -> None:
        revision = self.get_argument("revision", None) or None
        ref = HubRef.parse(key, REPO_TYPES.get(repo_type, repo_type), f"{namespace}/{name}")
        resolved, page = await model_overview(
            self.vault.hub, self.vault.bundles, self.principal, ref, revision
        )
        out: dict[str, Any] = {
            "repository": key,
            "repo_id": resolved.repo.repo_id,
            "repo_type": resolved.repo.repo_type,
            "revision": resolved.revision,
            "commit": resolved.commit.sha,
            "source": resolved.source.key,
            "source_kind": resolved.source.kind,
            "warning": resolved.warning,
            "readme": page.readme,
            "card": card_summary(page.card),
            "card_error": page.card.error,
            "refs": page.refs,
            "commits": page.commits,
            "base_chain": [
                {"repo_id": link.repo_id, "in_vault": link.in_vault, "license": link.license}
                for link in page.base_chain
            ],
            "bundles": page.bundles,
            "upstream": page.upstream,
            "cache": page.cache,
        }
        self.write_json(out)
