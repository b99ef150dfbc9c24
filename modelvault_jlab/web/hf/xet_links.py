"""What a Hub answer adds for a Xet file, so that huggingface_hub downloads it through Xet
(resolve HEAD/GET; protocol brief §1.3): its file hash and the route of its read token."""

from __future__ import annotations

from .base import HfHandler

HEADER_XET_HASH = "X-Xet-Hash"


def xet_headers(
    handler: HfHandler, repository: str, repo_type: str, repo_id: str, commit: str, xet_hash: str
) -> None:
    """``X-Xet-Hash`` and ``Link: <…/xet-read-token/{commit}>; rel="xet-auth"`` (the commit
    served, so the token and the reconstruction see the same files)."""
    route = f"{handler.endpoint(repository)}/api/{repo_type}s/{repo_id}/xet-read-token/{commit}"
    handler.set_header(HEADER_XET_HASH, xet_hash)
    handler.add_header("Link", f'<{route}>; rel="xet-auth"')
