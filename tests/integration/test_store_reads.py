"""ChromaStore's read paths for retrieval, on a real embedded Chroma: sentences by chunk (read by id, the
long chunks completed by a filter) and the nearest chunk ids; the bench's synthetic index is shaped like an
ingested one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.scale import load_synthetic
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from rag.store import SENTENCE_COLLECTION, SENTENCE_IDS_PER_CHUNK, ChromaStore, StoredSentence

DIM = 8


def _store(tmp_path: Path) -> ChromaStore:
    store = ChromaStore(Settings(_env_file=None, data_dir=tmp_path / "data", collection="reads"))
    store.open_for_write("test-model", DIM)
    return store


def _sentences(chunk_id: str, count: int, rng: np.random.Generator) -> list[StoredSentence]:
    vectors = rng.normal(size=(count, DIM)).astype(np.float32)
    return [StoredSentence(chunk_id, i, f"{chunk_id} sentence {i}.", vectors[i], {"ents": "[]"}) for i in range(count)]


def test_sentences_of_short_long_and_empty_chunks_come_whole_and_in_order(tmp_path: Path) -> None:
    store, rng = _store(tmp_path), np.random.default_rng(1)
    counts = {"a": 3, "b": SENTENCE_IDS_PER_CHUNK, "c": SENTENCE_IDS_PER_CHUNK + 1, "d": 3 * SENTENCE_IDS_PER_CHUNK}
    written = {c: _sentences(c, n, rng) for c, n in counts.items()}
    store.add_sentences(
        [s for rows in written.values() for s in rows], [f"doc-{c}" for c, n in counts.items() for _ in range(n)]
    )

    asked = ["d", "none", "a", "c", "b", "a"]
    got = store.sentences_for(asked)
    assert [(s.chunk_id, s.index) for s in got] == [(c, i) for c in ("d", "a", "c", "b") for i in range(counts[c])]
    for sentence in got:
        original = written[sentence.chunk_id][sentence.index]
        assert sentence.text == original.text and sentence.meta == {"ents": "[]"}
        assert np.allclose(sentence.embedding, original.embedding, atol=1e-6)
    assert store.sentences_for([]) == [] and store.sentences_for(["none"]) == []


def test_the_sentences_collection_is_built_with_a_sparse_graph(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store._sentences.metadata["hnsw:M"] == SENTENCE_COLLECTION["hnsw:M"] < 16


def test_nearest_gives_the_ids_and_cosines_query_gives(tmp_path: Path) -> None:
    store, rng = _store(tmp_path), np.random.default_rng(2)
    vectors = rng.normal(size=(20, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"c{i:02d}" for i in range(20)]
    store.add_chunk_vectors(ids, vectors, [f"text {i}" for i in ids], [{"doc_id": i} for i in ids])
    nearest = store.nearest(vectors[7], 5)
    full = store.query(vectors[7], 5)
    assert nearest[0][0] == "c07" and abs(nearest[0][1] - 1.0) < 1e-5
    assert nearest == [(c.chunk_id, c.score) for c in full]


def test_the_synthetic_bench_index_reads_like_an_ingested_one(tmp_path: Path) -> None:
    from rag.embedding import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    store = ChromaStore(Settings(_env_file=None, data_dir=tmp_path / "data", collection="synthetic"))
    store.open_for_write(embedder.name, embedder.dim)
    load_synthetic(store, np.random.default_rng(3), 25, embedder.name, embedder.dim)
    retriever = HybridRetriever(store, embedder, tmp_path / "data")
    chunks = retriever.snapshot().chunks
    assert len(chunks) == 25  # 3 documents of 10, 10 and 5 chunks, every one complete
    meta = chunks[0].metadata
    assert {"doc_id", "title", "chunk_count", "content_hash", "_node_content", "section_starts"} <= set(meta)
    sentences = store.sentences_for([c.chunk_id for c in chunks])
    assert len(sentences) == 4 * 25 and sum('"CARDINAL"' in s.meta["ents"] for s in sentences) == 2 * 25
    passages = retriever.retrieve("how many w1 were killed in the karachi bombing", 8)
    assert len(passages) == 8 and all(p.text for p in passages)
