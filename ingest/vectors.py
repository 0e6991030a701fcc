"""The model work of one write group: chunk vectors and sentence vectors, one model pass per token.

`pooled`: each chunk is embedded once and each of its sentences gets the mean of the
chunk's token states over the sentence's characters (rag.embedding.MiniLMEmbedder.embed_with_spans),
so sentences cost no model call; `pooled-cN` widens each span by N word pieces on each side.
Measured on the dev splits of the four corpora (README "Benchmarks", fifth round): the best,
`pooled-c8`, is 1 right answer above `separate` in sum but 2 below it on PostgreSQL (every pooled
variant is), so it is not the default. A sentence the pass cannot cover (an embedder without
token states, e.g. OpenAI, or a chunk text not found in its embedded text) is embedded on its own.

`separate` (the default): every distinct sentence is embedded on its own, as before issue 13.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.chunking import ChunkSentence, embed_text, node_text


def sentence_vector_build(mode: str) -> str:
    """How a document's sentence vectors were made: kept in its file-registry entry; a change re-embeds it."""
    return f"{mode}-v1"


def pool_context(mode: str) -> int:
    """Word pieces of context on each side of a pooled sentence: `pooled-c4` -> 4, `pooled` -> 0."""
    return int(mode.rpartition("-c")[2]) if mode.startswith("pooled-c") else 0


@dataclass
class GroupVectors:
    chunks: np.ndarray  # one row per node
    sentences: list[np.ndarray]  # one vector per ChunkSentence, in order
    pooled: int = 0  # sentences whose vector came from their chunk's pass
    sentence_seconds: float = 0.0  # wall seconds of the sentences embedded on their own
    sentence_cpu: float = 0.0  # their CPU seconds


def embed_group(embedder: Any, nodes: list[Any], sentences: list[list[ChunkSentence]], mode: str) -> GroupVectors:
    """Vectors of the nodes and of each node's sentences (`sentences[i]` are node i's)."""
    texts = [embed_text(node) for node in nodes]
    pool = getattr(embedder, "embed_with_spans", None)
    if not mode.startswith("pooled") or pool is None:
        return _separate(embedder, texts, sentences)
    spans, offsets = [], []
    for node, text, rows in zip(nodes, texts, sentences, strict=True):
        offset = _content_offset(text, node_text(node))
        offsets.append(offset)
        spans.append([] if offset < 0 else [(offset + s.lo, offset + s.hi) for s in rows])
    chunk_vectors, span_vectors = pool(texts, spans, pool_context(mode))
    flat: list[np.ndarray | None] = []
    for offset, rows, vectors in zip(offsets, sentences, span_vectors):
        if offset < 0:
            flat += [None] * len(rows)
        else:
            flat += [v if v.any() else None for v in vectors]
    missing = [i for i, v in enumerate(flat) if v is None]
    out = GroupVectors(chunk_vectors, [], pooled=len(flat) - len(missing))
    if missing:
        every = [s.record.text for rows in sentences for s in rows]
        t0, cpu = time.perf_counter(), time.process_time()
        own = embedder.embed_documents([every[i] for i in missing])
        out.sentence_seconds, out.sentence_cpu = time.perf_counter() - t0, time.process_time() - cpu
        for i, vector in zip(missing, own):
            flat[i] = vector
    out.sentences = flat  # type: ignore[assignment]
    return out


def _separate(embedder: Any, texts: list[str], sentences: list[list[ChunkSentence]]) -> GroupVectors:
    """Chunks, then each distinct sentence text once (overlap copies share a vector), in one call."""
    unique = list(dict.fromkeys(s.record.text for rows in sentences for s in rows))
    chunk_vectors = embedder.embed_documents(texts)
    t0, cpu = time.perf_counter(), time.process_time()
    sentence_vectors = embedder.embed_documents(unique) if unique else np.zeros((0, chunk_vectors.shape[1]))
    by_text = dict(zip(unique, sentence_vectors))
    flat = [by_text[s.record.text] for rows in sentences for s in rows]
    return GroupVectors(chunk_vectors, flat, 0, time.perf_counter() - t0, time.process_time() - cpu)


def _content_offset(embedded: str, content: str) -> int:
    """Where the chunk text stands inside the text that was embedded (-1: not in it)."""
    if not content:
        return -1
    if embedded.endswith(content):
        return len(embedded) - len(content)
    return embedded.find(content)
