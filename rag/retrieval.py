"""Hybrid retrieval: dense (Chroma) + BM25 over the same chunks, fused by rag.fusion.

Which lexical and dense evidence wins depends on the corpus (on news articles BM25 ranks the
answering file first more often, on manual pages MiniLM does), so the default fusion needs no
weight tuned to one corpus: each list's scores are min-max normalised and averaged with equal
weights (chosen on the dev splits of three corpora, README "Retrieval"). Dense vectors are of the
chunk's own words (rag.store_format.chunk_embedding_text); BM25 reads the chunk with its title and section weighted (BM25F-like). The BM25 index is cached on disk
under the data dir, keyed by the index fingerprint, and rebuilt when the chunks change. For a question
that asks for a kind of answer (a person, a date, a count), a third list ranks the candidates holding a
sentence that names such an entity next to the question's words (rag.evidence): on news articles the
document repeating the question's words is often not the one that answers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from rag.embedding import Embedder
from rag.evidence import Asked, sentence_cosines, typed_sentence
from rag.fusion import FusionConfig, Ranking, leading, rank_passages
from rag.passages import Passage
from rag.rerank import Reranker
from rag.store import ChromaStore, StoredChunk, StoredSentence
from rag.text import content_terms, dotted_numbers, hyphen_parts, keyword_terms

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)

DENSE_WEIGHT = 1.0  # equal evidence: normalised lists need no per-corpus weight (bench/retrieval_variants.py)
KEYWORD_WEIGHT = 1.0
# From each retriever before fusion. Min-max puts each list's last candidate at 0, like a chunk the
# list missed; deeper lists keep that floor below the contenders (dev hit@1 over four corpora:
# 20 -> 139, 30 -> 142, 40 -> 143, 60 -> 141, 100 -> 137 of 168; bench/retrieval_variants.py --candidates).
CANDIDATES = 40
# Part of the BM25 cache key: bump whenever bm25f_terms (or keyword_terms) tokenises differently.
KEYWORD_SCHEME = "bm25f-head3-2"  # 2: dotted numbers ("4.9.0") are terms
# BM25F-like field weight: title and section terms count this many times. Dev hit@1 (bench/retrieval_variants.py,
# minmax d1 max, k=8): title+body -> bm25f: seeds 0.832 = 0.832, git 0.889 = 0.889, handbook 0.852 -> 0.889,
# postgresql 0.789 -> 0.842.
HEAD_REPEAT = 3
# Answer-aware evidence (rag.evidence.typed_sentence): a third list, over the TYPED_POOL leading fused
# chunks, of those with a sentence holding an entity of an asked-for type (of any part of the question),
# by that sentence's cosine; only for typed questions. Dev hit@1 over seeds/git/handbook/pg of 168
# (bench.retrieval_variants --evidence, "typed" = main question's types only): off 143; typed 0.25 145,
# 0.35 / 0.5 146, 0.75 143, 1.0 143; every part's types at 0.5: 147 (81/24/25/17).
TYPED_WEIGHT = 0.5
# Only the leading fused chunks are looked at (their sentences are read from the store, the costly part):
# dev hit@1 of the 168 over the leading 8 / 12 -> 145, 20 -> 146, 30 -> 147 (= every candidate).
TYPED_POOL = 30
# Sentences of the pool's chunks, kept by chunk id (ids hold the content hash, so an entry never goes stale):
# a Chroma get of 30 chunks' sentences per typed question was two thirds of its retrieval time on the seeds.
# ~12 KB per chunk (its sentences' vectors): 2,048 chunks are ~25 MB.
SENTENCE_CACHE_CHUNKS = 2048


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
    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        cache_dir: Path,
        refresh_s: float = 5.0,
        fusion: FusionConfig | None = None,
        reranker: Reranker | None = None,
        rerank_candidates: int = 20,
    ) -> None:
        self.fusion = fusion or FusionConfig()
        self.reranker = reranker  # optional: reorders rerank_candidates fused passages, then top k are kept
        self.rerank_candidates = rerank_candidates
        self.refresh_s = refresh_s  # how often to look for re-ingested chunks
        self.store = store
        self.embedder = embedder
        self.cache_dir = cache_dir
        self._snapshot: Snapshot | None = None
        self._token = ""
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._sentences: OrderedDict[str, list[StoredSentence]] = OrderedDict()
        self._sentences_lock = threading.Lock()

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
        doc_freq: dict[str, int] = {}  # of the reader's terms (content_terms), not of the hyphen parts
        terms: list[list[str]] = []
        for chunk in chunks:
            body = content_terms(chunk.text)  # stemmed once, for both the document frequency and BM25
            for term in set(content_terms(str(chunk.metadata.get("title", "") or "")) + body):
                doc_freq[term] = doc_freq.get(term, 0) + 1
            terms.append(bm25f_terms(chunk, body))
        return Snapshot(fingerprint, chunks, by_id, self._load_or_build_bm25(fingerprint, terms), doc_freq)

    def _load_or_build_bm25(self, fingerprint: str, terms: list[list[str]]) -> bm25s.BM25 | None:
        if not terms:
            return None
        path = self.cache_dir / "bm25" / f"{KEYWORD_SCHEME}-{fingerprint}"
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
    def retrieve(
        self, query: str, k: int, query_vector: np.ndarray | None = None, asked: Asked | None = None
    ) -> list[Passage]:
        snap = self.snapshot()
        if not snap.chunks:
            return []
        vector = self.embedder.embed_query(query) if query_vector is None else query_vector
        # only hits of the snapshot: a chunk that a re-ingest or prune removed (or an unfinished version)
        # can still come back from the vector index, above all from embedded Chroma's in-process HNSW
        # the snapshot holds every chunk's text and metadata: the vector index is asked for ids and cosines only
        dense = [
            (i, score) for i, score in self.store.nearest(vector, min(CANDIDATES, len(snap.chunks))) if i in snap.by_id
        ]
        keyword = self._keyword(snap, query)
        found: dict[str, StoredChunk] = {snap.chunks[index].chunk_id: snap.chunks[index] for index, _ in keyword}
        found.update((chunk_id, snap.chunks[snap.by_id[chunk_id]]) for chunk_id, _ in dense)
        rankings = [
            Ranking.of(dense, weight=DENSE_WEIGHT),
            Ranking.of(((snap.chunks[i].chunk_id, score) for i, score in keyword), weight=KEYWORD_WEIGHT),
        ]
        if asked is not None and asked.types and TYPED_WEIGHT > 0:
            pool = leading(rankings, self.fusion.method, TYPED_POOL)
            rankings.append(self._typed(pool, vector, asked))

        def doc_of(chunk_id: str) -> str:
            return str(found[chunk_id].metadata.get("doc_id", chunk_id))

        pool = max(k, self.rerank_candidates) if self.reranker is not None else k
        chosen = rank_passages(rankings, doc_of, pool, self.fusion)
        passages = [_passage(n, found[chunk_id], score) for n, (chunk_id, score) in enumerate(chosen, start=1)]
        if self.reranker is not None:
            passages = self.reranker.rerank(query, passages)[:k]
        return passages

    def _typed(self, candidates: list[str], vector: np.ndarray, asked: Asked) -> Ranking:
        """The candidates holding a sentence with a candidate answer, by that sentence's cosine (rag.evidence)."""
        sentences = self.sentences_of(candidates)
        scores = typed_sentence(sentences, sentence_cosines(sentences, vector), asked.types, asked.terms)
        return Ranking.of(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])), weight=TYPED_WEIGHT)

    def sentences_of(self, chunk_ids: list[str]) -> list[StoredSentence]:
        """The stored sentences of these chunks, read from the store only for chunks not seen lately."""
        with self._sentences_lock:
            missing = [cid for cid in chunk_ids if cid not in self._sentences]
        if missing:
            fetched: dict[str, list[StoredSentence]] = {cid: [] for cid in missing}
            for sentence in self.store.sentences_for(missing):
                fetched.setdefault(sentence.chunk_id, []).append(sentence)
            with self._sentences_lock:
                self._sentences.update(fetched)
                while len(self._sentences) > SENTENCE_CACHE_CHUNKS:
                    self._sentences.popitem(last=False)
        with self._sentences_lock:
            for cid in chunk_ids:
                if cid in self._sentences:
                    self._sentences.move_to_end(cid)
            return [s for cid in chunk_ids for s in self._sentences.get(cid, [])]

    def _keyword(self, snap: Snapshot, query: str) -> list[tuple[int, float]]:
        terms = keyword_terms(query)
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


def bm25f_terms(chunk: StoredChunk, body: list[str] | None = None) -> list[str]:
    """What BM25 indexes for a chunk: its title and section (repeated HEAD_REPEAT times), then its text.

    `body` is content_terms(chunk.text) when the caller has it already (stemming is the costly part).
    """
    head = f"{chunk.metadata.get('title', '') or ''}\n{chunk.metadata.get('section', '') or ''}"
    body = content_terms(chunk.text) if body is None else body
    return keyword_terms(head) * HEAD_REPEAT + body + hyphen_parts(chunk.text) + dotted_numbers(chunk.text)


def _passage(n: int, chunk: StoredChunk, score: float) -> Passage:
    meta = chunk.metadata
    return Passage(
        n=n,
        chunk_id=chunk.chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        text=chunk.text,
        score=round(score, 4),
        metadata=meta,
    )
