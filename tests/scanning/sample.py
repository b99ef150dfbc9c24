"""One bypass sample of the regression corpus (corpus.py, corpus_loaders.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    id: str
    source: str  # advisory / research reference
    build: Callable[[], bytes]
    name: str = "model.pkl"  # file name used when written to disk
    kind: str = "pickle"  # pickle | archive | other (which scanners are expected to apply)
    # Proven live: the key of live.LOADERS (or a snippet) whose normal load runs the payload.
    loader: str | None = None
    # Files written next to the sample for the live proof (name -> bytes); the loader then gets
    # the folder (``sys.argv[1]``) instead of the file.
    companions: Callable[[], dict[str, bytes]] | None = None
