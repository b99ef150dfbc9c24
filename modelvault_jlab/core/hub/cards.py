"""Model cards: the YAML front matter of a repo's README.md (licence, base model, tags).

A card is untrusted: anyone can publish one on a public hub and it reaches the vault through any
remote repository. YAML aliases let a few hundred bytes stand for billions of nodes (a "billion
laughs"), which any later walk of the data (JSON encoding, merge keys) would expand. The loader
here counts every node as it would be expanded, aliases included, and stops at
:data:`MAX_CARD_NODES` or :data:`MAX_CARD_DEPTH`: such a card is *rejected* (``Card.error``), and
the gate turns that into a policy violation, never into a stall. Parse off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_CARD_BYTES = 1024 * 1024
"""A larger README is not read for its card."""
MAX_CARD_NODES = 100_000
"""Nodes of the front matter with every alias expanded (real cards have a few thousand)."""
MAX_CARD_DEPTH = 64


class CardRejectedError(yaml.YAMLError):
    """The front matter is too large or too deep once its aliases are expanded."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents whose alias-expanded size or depth is too large.

    The weight of a node is 1 plus the weights of its children; an alias weighs what its anchor
    does, so the document's weight is the number of nodes a full expansion would produce. A
    recursive alias (a node containing itself) has no finite expansion and is refused too.
    """

    max_nodes = MAX_CARD_NODES
    max_depth = MAX_CARD_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._weights: dict[int, int] = {}
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            target = self.anchors.get(self.peek_event().anchor)  # type: ignore[no-untyped-call]
            if target is not None and id(target) not in self._weights:
                raise CardRejectedError("a YAML alias refers to a node that contains it")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self.max_depth:
            raise CardRejectedError(f"nested deeper than {self.max_depth} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        self._weights[id(node)] = self._weigh(node)
        return node

    def _weigh(self, node: Node) -> int:
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1
        for child in children:
            total += self._weights[id(child)]
            if total > self.max_nodes:
                raise CardRejectedError(
                    f"its YAML aliases expand to more than {self.max_nodes} nodes"
                )
        return total


def load_bounded(text: str) -> Any:
    """YAML through :class:`BoundedLoader`. Raises yaml.YAMLError (CardRejectedError: hostile)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Card:
    """A card's front matter; ``error`` says why it was not read (hostile or malformed)."""

    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def parse_card(text: str) -> Card:
    """The YAML front matter of a model card (an empty card when there is none). Blocking and
    CPU-bound for up to :data:`MAX_CARD_BYTES`: call it from a worker thread."""
    if not text.startswith("---"):
        return Card()
    end = text.find("\n---", 3)
    if end < 0:
        return Card()
    try:
        data = load_bounded(text[3:end])
    except CardRejectedError as exc:
        return Card(error=f"the model card was refused: {exc}")
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Card(error=f"the model card's front matter is not valid YAML ({detail})")
    return Card(data if isinstance(data, dict) else {})
