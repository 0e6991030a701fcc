"""Hybrid retrieval: dense (Chroma) + BM25 over the same chunks, fused with weighted reciprocal ranks.

BM25 ranks files better than MiniLM on these articles (QUALITY.md: hit@1 0.85 vs 0.70), vectors
find paraphrases, so BM25 gets the larger weight. The BM25 index is cached on disk under the data
dir, keyed by the index fingerprint, and rebuilt when the chunks change.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from rag.embedding import Embedder
from rag.passages import Passage
from rag.store import ChromaStore, StoredChunk
from rag.text import content_terms

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)

RRF_K = 60
DENSE_WEIGHT = 0.6
KEYWORD_WEIGHT = 1.0
CANDIDATES = 20  # from each retriever before fusion


@dataclass
class Snapshot:
    fingerprint: str
    chunks: list[StoredChunk]
    by_id: dict[str, int]
    bm25: bm25s.BM25 | None
    doc_freq: dict[str, int]

    def df(self, term: str) -> int:
        return self.doc_freq.get(term, 0)

    def idf(self, term: str) -> float:
        """Rarity of a term across chunks; terms absent from the corpus count as the rarest."""
        n = max(len(self.chunks), 1)
        return math.log(1 + n / (self.doc_freq.get(term, 0) + 0.5))


class HybridRetriever:
    def __init__(self, store: ChromaStore, embedder: Embedder, cache_dir: Path, refresh_s: float = 5.0) -> None:
        self.refresh_s = refresh_s  # how often to look for re-ingested chunks
        self.store = store
        self.embedder = embedder
        self.cache_dir = cache_dir
        self._snapshot: Snapshot | None = None
        self._token = ""
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # -- index snapshot -----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The chunk list + BM25 index, refreshed when the store's content changed."""
        now = time.monotonic()
        if self._snapshot is not None and now - self._checked_at < self.refresh_s:
            return self._snapshot
        with self._lock:
            if self._snapshot is None or time.monotonic() - self._checked_at >= self.refresh_s:
                # reading every chunk takes seconds at 100k chunks: only when the cheap token moved
                token = self.store.change_token()
                if self._snapshot is None or token != self._token:
                    if self._snapshot is not None:
                        self.store.reopen_if_embedded()  # another process changed the index
                    chunks = complete_versions(self.store.all_chunks(include_text=True))
                    fingerprint = self.store.fingerprint(chunks)
                    if self._snapshot is None or self._snapshot.fingerprint != fingerprint:
                        self._snapshot = self._build(fingerprint, chunks)
                    self._token = token
                self._checked_at = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        """Look at the store again on the next question (after a change made by this process)."""
        self._checked_at = float("-inf")

    def _build(self, fingerprint: str, chunks: list[StoredChunk]) -> Snapshot:
        chunks = sorted(chunks, key=lambda c: c.chunk_id)
        by_id = {c.chunk_id: i for i, c in enumerate(chunks)}
        terms = [_keyword_text(c) for c in chunks]
        doc_freq: dict[str, int] = {}
        for chunk_terms in terms:
            for term in set(chunk_terms):
                doc_freq[term] = doc_freq.get(term, 0) + 1
        return Snapshot(fingerprint, chunks, by_id, self._load_or_build_bm25(fingerprint, terms), doc_freq)

    def _load_or_build_bm25(self, fingerprint: str, terms: list[list[str]]) -> bm25s.BM25 | None:
        if not terms:
            return None
        path = self.cache_dir / "bm25" / fingerprint
        if (path / "params.index.json").exists():
            try:
                return bm25s.BM25.load(str(path), show_progress=False)
            except Exception as exc:  # a corrupt cache is rebuilt, never fatal
                log.warning("bm25 cache %s unreadable (%s); rebuilding", path, exc)
        model = bm25s.BM25()
        model.index(terms, show_progress=False)
        try:
            path.mkdir(parents=True, exist_ok=True)
            model.save(str(path), show_progress=False)
        except OSError as exc:
            log.warning("could not cache bm25 index in %s: %s", path, exc)
        return model

    # -- retrieval ------------------------------------------------------------------------------
    def retrieve(self, query: str, k: int, query_vector: np.ndarray | None = None) -> list[Passage]:
        snap = self.snapshot()
        if not snap.chunks:
            return []
        vector = self.embedder.embed_query(query) if query_vector is None else query_vector
        # only hits of the snapshot: a chunk that a re-ingest or prune removed (or an unfinished version)
        # can still come back from the vector index, above all from embedded Chroma's in-process HNSW
        dense = [c for c in self.store.query(vector, min(CANDIDATES, len(snap.chunks))) if c.chunk_id in snap.by_id]
        keyword = self._keyword(snap, query)
        fused: dict[str, float] = {}
        for rank, chunk in enumerate(dense):
            fused[chunk.chunk_id] = fused.get(chunk.chunk_id, 0.0) + DENSE_WEIGHT / (RRF_K + rank + 1)
        for rank, (index, _score) in enumerate(keyword):
            chunk_id = snap.chunks[index].chunk_id
            fused[chunk_id] = fused.get(chunk_id, 0.0) + KEYWORD_WEIGHT / (RRF_K + rank + 1)
        dense_by_id = {c.chunk_id: c for c in dense}
        ranked = sorted(fused, key=lambda cid: -fused[cid])
        chosen = _diversify(ranked, snap, k)
        passages = []
        for n, chunk_id in enumerate(chosen, start=1):
            chunk = dense_by_id.get(chunk_id) or snap.chunks[snap.by_id[chunk_id]]
            meta = chunk.metadata
            passages.append(
                Passage(
                    n=n,
                    chunk_id=chunk_id,
                    doc_id=str(meta.get("doc_id", "")),
                    source=str(meta.get("source", "")),
                    title=str(meta.get("title", "")),
                    text=chunk.text or snap.chunks[snap.by_id[chunk_id]].text,
                    score=round(fused[chunk_id] * (RRF_K + 1) / (DENSE_WEIGHT + KEYWORD_WEIGHT), 4),
                    metadata=meta,
                )
            )
        return passages

    def _keyword(self, snap: Snapshot, query: str) -> list[tuple[int, float]]:
        terms = content_terms(query)
        if not terms or snap.bm25 is None:
            return []
        k = min(CANDIDATES, len(snap.chunks))
        docs, scores = snap.bm25.retrieve([terms], k=k, show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


def complete_versions(chunks: list[StoredChunk]) -> list[StoredChunk]:
    """Per document, only its newest complete version: chunk_count chunks sharing one content_hash.

    An ingest writes a document's new version next to the old one and deletes the old one after,
    and a prune deletes chunk by chunk: a reader taking a snapshot at any moment sees each document
    whole (old or new), or not at all, never a mix of versions or a half-written one.
    """
    versions: dict[tuple[str, str], list[StoredChunk]] = {}
    for chunk in chunks:
        meta = chunk.metadata
        versions.setdefault((str(meta.get("doc_id", "")), str(meta.get("content_hash", ""))), []).append(chunk)
    best: dict[str, tuple[tuple, list[StoredChunk]]] = {}
    for (doc_id, _hash), group in versions.items():
        expected = group[0].metadata.get("chunk_count")
        if expected is not None and len({c.chunk_id for c in group}) != int(expected):
            continue
        rank = (int(group[0].metadata.get("version_ns") or 0), str(group[0].metadata.get("ingested_at") or ""))
        if doc_id not in best or rank > best[doc_id][0]:
            best[doc_id] = (rank, group)
    return [chunk for _rank, group in best.values() for chunk in group]


def _keyword_text(chunk: StoredChunk) -> list[str]:
    return content_terms(f"{chunk.metadata.get('title', '')}\n{chunk.text}")


def _diversify(ranked: list[str], snap: Snapshot, k: int) -> list[str]:
    """Top-k chunks, but keep the best chunk of each of the top few documents.

    Several articles cover the same event with different details; the best-ranked article is often
    not the one holding the asked-for detail, so each leading document gets a seat.
    """
    best_per_doc: list[str] = []
    seen_docs: set[str] = set()
    for chunk_id in ranked:
        doc = snap.chunks[snap.by_id[chunk_id]].metadata.get("doc_id")
        if doc not in seen_docs:
            seen_docs.add(doc)
            best_per_doc.append(chunk_id)
    seats = best_per_doc[: max(1, min(4, k // 2))]
    chosen = list(seats)
    for chunk_id in ranked:
        if len(chosen) >= k:
            break
        if chunk_id not in chosen:
            chosen.append(chunk_id)
    return sorted(chosen, key=ranked.index)
