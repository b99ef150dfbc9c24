"""A link from ``%modelvault`` output to the repo's model page in JupyterLab.

Output HTML runs no script, so the link is a plain anchor with a fragment the ModelVault
frontend recognises (``#modelvault-page/<repository>/<type>/<repo id>``, see
``src/pages/model/plugin.ts``); elsewhere it is a harmless in-page link.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

PREFIX = "#modelvault-page/"


def page_ref(listing: dict[str, Any]) -> tuple[str, str, str] | None:
    """Repository, repo type and repo id of a files listing, if it names them."""
    key, repo_type, repo_id = (listing.get(k) for k in ("repository", "repo_type", "repo_id"))
    if isinstance(key, str) and isinstance(repo_type, str) and isinstance(repo_id, str):
        return key, repo_type, repo_id
    return None


def page_link_html(ref: tuple[str, str, str]) -> str:
    key, repo_type, repo_id = ref
    href = PREFIX + "/".join(quote(part, safe="") for part in (key, repo_type, *repo_id.split("/")))
    label = f"Open the model page of {key}:{repo_id}"
    return f'<div><a href="{html.escape(href)}">{html.escape(label)}</a></div>'
