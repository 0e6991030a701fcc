"""What the store hands out (chunks, sentences) and how it tells a dead connection from a bad request.

No chromadb import here: rag.store is the only module that talks to Chroma.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SENTENCE_KEYS = ("chunk_id", "doc_id", "index")  # the store's own sentence metadata; the rest is `meta`


@dataclass
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0


@dataclass
class StoredSentence:
    chunk_id: str
    index: int
    text: str
    embedding: np.ndarray = field(repr=False)
    meta: dict[str, str | int | float | bool] = field(default_factory=dict)  # annotations (sentence_annotator)


def section_of(metadata: dict[str, Any] | None, offset: int) -> str | None:
    """The heading path a passage's text stands under at `offset` (chunk metadata "section" and
    "section_starts", see ingest.chunking.section_starts); the chunk's first section when unknown."""
    metadata = metadata or {}
    section = metadata.get("section") or None
    if offset < 0 or not metadata.get("section_starts"):
        return section
    try:
        starts = json.loads(metadata["section_starts"])
    except (TypeError, ValueError):
        return section
    for begin, path in starts:
        if isinstance(begin, int) and begin <= offset:
            section = path
    return section


def annotation(meta: dict) -> dict[str, str | int | float | bool]:
    """A sentence annotator's dict as Chroma metadata: flat scalars only, our own keys never overwritten."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in (meta or {}).items():
        if not isinstance(key, str) or key in SENTENCE_KEYS:
            raise ValueError(f"sentence annotation key {key!r} is reserved or not a string")
        if not isinstance(value, str | int | float | bool):
            raise ValueError(f"sentence annotation {key!r} must be str/int/float/bool, not {type(value).__name__}")
        out[key] = value
    return out


def is_connection_error(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(exc)}
    text = " ".join(str(e) for e in _chain(exc)).lower()
    markers = ("connect", "connection refused", "could not connect", "timed out", "unavailable", "remotedisconnected")
    return bool(
        names & {"ConnectError", "ConnectionError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError"}
    ) or any(m in text for m in markers)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
