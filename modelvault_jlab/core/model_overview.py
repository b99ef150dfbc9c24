"""What the model page shows of a Hub repo beyond its files: the card, the revisions, the
base-model chain, the bundles that pin it and, for a mirrored repo, its cache state and upstream.

The card is untrusted text; it is returned as text (the frontend renders it sanitised) and only
its front matter is parsed, through :func:`.cards.parse_card` with its bounds. The base-model chain
is followed through the same repository for at most :data:`MAX_CHAIN` levels and stops at a cycle,
so a hostile card cannot make the walk unbounded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..errors import VaultError
from .bundles import BundleService
from .hub.cards import MAX_CARD_BYTES, Card, parse_card
from .hub.read import HubService
from .hub.refs import HubRef, Resolved
from .identity import SYSTEM, Principal
from .urls import safe_url

MAX_CHAIN = 8
"""Base-model levels followed (real chains have two or three)."""
MAX_COMMITS = 50
MAX_CACHE_COUNT = 20_000
"""Files whose cache state is counted; a larger commit reports ``cache.counted`` < total."""


@dataclass(frozen=True)
class ChainLink:
    """One base model: ``in_vault`` when the repository holds it (then ``license`` is its card's)."""

    repo_id: str
    in_vault: bool
    license: str | None = None


@dataclass
class ModelOverview:
    readme: str | None
    card: Card
    refs: list[dict[str, str]]
    commits: list[dict[str, Any]]
    base_chain: list[ChainLink]
    bundles: list[dict[str, Any]]
    cache: dict[str, Any] | None
    upstream: str | None


def base_models(card: Card) -> list[str]:
    """The ``base_model`` ids of a card (a string or a list of strings; anything else: none)."""
    value = card.data.get("base_model")
    items = value if isinstance(value, list) else [value]
    return [str(v)[:200] for v in items if isinstance(v, str) and v.strip()][:MAX_CHAIN]


def _strings(value: Any, limit: int = 50) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v)[:200] for v in items if isinstance(v, str | int | float)][:limit]


def card_summary(card: Card) -> dict[str, Any]:
    """The front-matter fields the page shows, as strings (YAML may hold dates and other types
    JSON lacks; the rest of the card is in the README text)."""
    return {
        "license": _license(card),
        "base_model": base_models(card),
        "datasets": _strings(card.data.get("datasets")),
        "tags": _strings(card.data.get("tags")),
        "pipeline_tag": _scalar(card.data.get("pipeline_tag")),
    }


def _scalar(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str | int | float) else None


def _license(card: Card) -> str | None:
    return _scalar(card.data.get("license"))


async def read_readme(hub: HubService, resolved: Resolved) -> str | None:
    """README.md of the commit as text (``None`` when absent or larger than the card limit)."""
    try:
        entry = hub.file(resolved, "README.md")
    except VaultError:
        return None
    if entry.size > MAX_CARD_BYTES:
        return None
    stream = await hub.open(SYSTEM, resolved.source.key, resolved, entry)
    data = b"".join([c async for c in stream.chunks(0, entry.size, entry.size or 1)])
    return data.decode("utf-8", "replace")


async def base_chain(hub: HubService, who: Principal, ref: HubRef, card: Card) -> list[ChainLink]:
    """Follow the first ``base_model`` of each card up the chain, in ``ref``'s repository."""
    chain: list[ChainLink] = []
    seen: set[str] = {ref.repo_id}
    current = card
    while len(chain) < MAX_CHAIN:
        bases = base_models(current)
        if not bases or bases[0] in seen:
            break
        base = bases[0]
        seen.add(base)
        try:
            resolved = await hub.resolve(who, HubRef.parse(ref.repository, "model", base), None)
            current = await hub.card(resolved)
        except VaultError:
            chain.append(ChainLink(base, in_vault=False))
            break
        chain.append(ChainLink(base, in_vault=True, license=_license(current)))
    return chain


def pinning_bundles(
    bundles: BundleService, who: Principal, resolved: Resolved
) -> list[dict[str, Any]]:
    """Bundles with a hub component of this repo (any commit), newest first."""
    out = []
    for view in bundles.list_bundles(who):
        for c in view.manifest.components:
            if (
                c.kind == "hub"
                and c.repo_id == resolved.repo.repo_id
                and c.repo_type == resolved.repo.repo_type
            ):
                out.append(
                    {
                        "name": view.record.name,
                        "version": view.record.version,
                        "environment": view.environment,
                        "commit": c.commit,
                    }
                )
                break
    return out


def cache_state(hub: HubService, resolved: Resolved) -> dict[str, Any]:
    """How many files of the commit (and bytes) the vault holds; mirrored files are cached lazily."""
    total = hub.count_files(resolved)
    files = hub.files(resolved, limit=MAX_CACHE_COUNT)
    cached = [e for e in files if hub.content_sha(resolved, e) is not None]
    return {
        "files": total,
        "counted": len(files),
        "cached_files": len(cached),
        "bytes": sum(e.size for e in files),
        "cached_bytes": sum(e.size for e in cached),
    }


async def model_overview(
    hub: HubService, bundles: BundleService, who: Principal, ref: HubRef, revision: str | None
) -> tuple[Resolved, ModelOverview]:
    """Everything the model page shows besides files, lineage and the policy decision."""
    resolved = await hub.resolve(who, ref, revision)
    readme = await read_readme(hub, resolved)
    card = await asyncio.to_thread(parse_card, readme) if readme is not None else Card()
    refs = [{"kind": r.kind, "name": r.name, "commit": r.commit} for r in await hub.refs(who, ref)]
    commits = [
        {"sha": c.sha, "title": c.title, "author": c.author, "created_at": c.created_at}
        for c in hub.commits(resolved, 0, MAX_COMMITS)
    ]
    remote = resolved.source.kind == "hf-remote"
    upstream = None
    if remote:
        upstream = safe_url(str(resolved.source.config.get("upstream") or "https://huggingface.co"))
    return resolved, ModelOverview(
        readme=readme,
        card=card,
        refs=refs,
        commits=commits,
        base_chain=await base_chain(hub, who, ref, card) if ref.repo_type == "model" else [],
        bundles=pinning_bundles(bundles, who, resolved),
        cache=cache_state(hub, resolved) if remote else None,
        upstream=upstream,
    )
