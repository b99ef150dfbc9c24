"""Model cards: the YAML front matter of a repo's README.md (licence, base model, tags)."""

from __future__ import annotations

from typing import Any

import yaml

MAX_CARD_BYTES = 1024 * 1024
"""A larger README is not read for its card."""


def parse_card(text: str) -> dict[str, Any]:
    """The YAML front matter of a model card, or ``{}`` (malformed YAML is not an error here)."""
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}
