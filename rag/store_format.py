"""The index format: how documents are identified and what text each chunk's vector was embedded from.

Both are decided here, once, and recorded in the chunk collection's metadata when it is created, so
that an index written by an older citebot is recognised: writing into it is refused with a
"rebuild once with --reindex" message (mixing two kinds of vectors in one index would rank them
unevenly), reading it still works (its vectors are only less well matched) and logs that advice.
No chromadb import here: rag.store applies these to its collections.
"""

from __future__ import annotations

from typing import Any, Protocol

ID_SCHEME = "path-v2"  # documents identified by resolved path (or --source name)
# What a chunk's vector is embedded from (chunk_embedding_text). Indexes without the key embedded the
# title and the chunk ("title+body", before issue 12's third round).
EMBED_TEXT = "body"
FORMAT = {"id_scheme": ID_SCHEME, "embed_text": EMBED_TEXT}
LEGACY = {"id_scheme": "relative-path", "embed_text": "title+body"}  # what a missing key means


class _Node(Protocol):  # a llama-index TextNode
    text: str
    metadata: dict[str, Any]


def chunk_embedding_text(title: str, section: str, body: str) -> str:
    """The text a chunk's dense vector is made from: the chunk's own words.

    Chosen on the dev splits of three corpora (bench/retrieval_variants.py, README "Retrieval"):
    prepending the title (or the section path) pulls every chunk of a long page towards the page's
    topic, so the chunk that answers loses to its neighbours. Title and section still count for
    BM25 (rag.retrieval) and are shown with every passage.
    """
    del title, section  # kept in the signature: the decision is about all three fields
    return body


def node_embedding_text(node: _Node) -> str:
    """chunk_embedding_text of a llama-index node made by ingest (its text, title and section metadata)."""
    meta = node.metadata
    return chunk_embedding_text(str(meta.get("title", "") or ""), str(meta.get("section", "") or ""), node.text)


def format_of(metadata: dict[str, Any] | None) -> dict[str, str]:
    """The format a chunk collection's metadata records (older keys missing = the legacy value)."""
    meta = metadata or {}
    return {key: str(meta.get(key) or LEGACY[key]) for key in FORMAT}


def outdated(metadata: dict[str, Any] | None) -> list[str]:
    """The format keys on which a collection differs from this citebot's FORMAT."""
    found = format_of(metadata)
    return [key for key, value in FORMAT.items() if found[key] != value]


def with_format(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """Collection metadata stamped with this FORMAT (Chroma's own hnsw: keys left out: they cannot change)."""
    kept = {k: v for k, v in (metadata or {}).items() if not k.startswith("hnsw:")}
    return {**kept, **FORMAT}


def mismatch_message(where: str, keys: list[str], metadata: dict[str, Any] | None) -> str:
    """Why an index is refused for writing, and what to do."""
    found = format_of(metadata)
    reasons = []
    if "id_scheme" in keys:
        reasons.append(
            "identifies documents by their path relative to the folder ingested, so ingesting now could replace "
            "or duplicate documents"
        )
    if "embed_text" in keys:
        reasons.append(
            f"embedded its chunks as {found['embed_text']!r} while this citebot embeds them as {EMBED_TEXT!r}, "
            "so new and old chunks would not rank alike"
        )
    return (
        f"the index in {where} was built by an older citebot: it {' and '.join(reasons)}: rebuild it once with "
        "`citebot ingest PATH... --reindex` (give every folder you want indexed)"
    )
