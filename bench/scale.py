"""Retrieval latency at 1k-100k synthetic chunks (`citebot bench`, key `retrieval_at`).

The index is written as a real ingest writes it (ChromaStore.add_nodes of llama-index nodes carrying the
chunker's metadata, then add_sentences with spaCy-shaped annotations), but with random unit vectors and
random-word texts instead of the model's: so the read path timed is the real one, and 100k chunks with
400k sentences load in minutes. Per query: wall and CPU milliseconds (CPU counts Chroma's threads too), for
a typed question (its retrieval reads the sentences of the 30 leading chunks) and the same question untyped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from rag.settings import Settings

SCALE_SENTENCES = 4  # stored sentences per synthetic chunk: typed questions read those of the leading chunks
CHUNKS_PER_DOC = 10
WORDS_PER_CHUNK = 60
WRITE_DOCS = 500  # documents per write (5,000 chunks, 20,000 sentences): the store pages them to Chroma's cap
QUESTION = "how many {} {} were killed in the karachi bombing"  # typed (a count); words vary per query
VOCABULARY = [f"w{i}" for i in range(20000)] + "karachi bombing engineers killed security corridor".split()


def _words(rng: np.random.Generator, n: int) -> str:
    return " ".join(VOCABULARY[i] for i in rng.integers(len(VOCABULARY), size=n))


def bench_retrieval_scale(tmp: Path, sizes: list[int], queries: int = 50) -> dict:
    """Per size: load time, then hybrid retrieval p50/p95 (wall and CPU ms), typed and untyped, and each half alone."""
    from rag.embedding import MiniLMEmbedder
    from rag.retrieval import HybridRetriever
    from rag.store import ChromaStore

    embedder = MiniLMEmbedder()
    rng = np.random.default_rng(7)
    questions = [QUESTION.format(*_words(rng, 2).split()) for _ in range(queries)]
    vectors = [embedder.embed_query(q) for q in questions]
    out = {}
    for size in sizes:
        settings = Settings(_env_file=None, data_dir=tmp / f"scale-{size}", collection=f"scale{size}")
        store = ChromaStore(settings)
        store.open_for_write(embedder.name, embedder.dim)
        wall, cpu = time.perf_counter(), time.process_time()
        load_synthetic(store, rng, size, embedder.name, embedder.dim)
        load = {"load_s": round(time.perf_counter() - wall, 1), "load_cpu_s": round(time.process_time() - cpu, 1)}
        retriever = HybridRetriever(store, embedder, settings.data_dir)
        wall = time.perf_counter()
        retriever.snapshot()
        load["snapshot_s"] = round(time.perf_counter() - wall, 2)
        out[str(size)] = {**retrieval_latencies(retriever, questions, vectors), **load, "load_avg": _load_avg()}
    return out


def load_synthetic(store, rng: np.random.Generator, size: int, model: str, dim: int) -> None:
    """`size` chunks in documents of CHUNKS_PER_DOC, written in groups of WRITE_DOCS documents."""
    for first_doc in range(0, -(-size // CHUNKS_PER_DOC), WRITE_DOCS):
        nodes, sentences, doc_ids = [], [], []
        for d in range(first_doc, min(first_doc + WRITE_DOCS, -(-size // CHUNKS_PER_DOC))):
            count = min(CHUNKS_PER_DOC, size - d * CHUNKS_PER_DOC)
            doc_nodes = synthetic_nodes(f"d{d:06d}", rng, count, model, dim)
            nodes += doc_nodes
            for node in doc_nodes:
                rows = synthetic_sentences(node.id_, node.text, rng, dim)
                sentences += rows
                doc_ids += [f"d{d:06d}"] * len(rows)
        store.add_sentences(sentences, doc_ids)  # as ingest does: sentences first, then the chunks
        store.add_nodes(nodes)
    store.mark_changed()


def synthetic_nodes(doc_id: str, rng: np.random.Generator, count: int, model: str, dim: int) -> list:
    """One document's chunks as ingest.chunking.Chunker makes them (same metadata keys and relationship)."""
    from llama_index.core import Document
    from llama_index.core.schema import NodeRelationship, TextNode

    content_hash = hashlib.sha256(doc_id.encode()).hexdigest()
    metadata = {
        "doc_id": doc_id,
        "source": f"{doc_id}.txt",
        "title": _words(rng, 6),
        "publisher": "",
        "date": "",
        "url": "",
        "content_hash": content_hash,
        "ingested_at": "2026-12-03T00:00:00+00:00",
        "embedding_model": model,
        "key": f"/synthetic/{doc_id}.txt",
        "version_ns": 1,
    }
    source = Document(text="", id_=doc_id, metadata=metadata).as_related_node_info()
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    nodes = []
    for index in range(count):
        text = _words(rng, WORDS_PER_CHUNK)
        meta = {
            **metadata,
            "chunk_index": index,
            "chunk_count": count,
            "section": "",
            "section_starts": "",
            "chunk_start": index * len(text),
        }
        excluded = [k for k in meta if k != "title"]
        nodes.append(
            TextNode(
                id_=f"{doc_id}:{content_hash[:8]}:{index:04d}",
                text=text,
                metadata=meta,
                excluded_embed_metadata_keys=excluded,
                excluded_llm_metadata_keys=excluded,
                metadata_template="{value}",
                relationships={NodeRelationship.SOURCE: source},
                embedding=vectors[index].tolist(),
            )
        )
    return nodes


def synthetic_sentences(chunk_id: str, text: str, rng: np.random.Generator, dim: int) -> list:
    """SCALE_SENTENCES slices of the chunk's words, annotated as the spaCy annotator does (entities and noun
    chunks as JSON character spans); every other one starts with a count (CARDINAL), a candidate answer."""
    from rag.store_records import StoredSentence

    words = text.split()
    step = max(1, len(words) // SCALE_SENTENCES)
    vectors = rng.normal(size=(SCALE_SENTENCES, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = []
    for j in range(SCALE_SENTENCES):
        body = " ".join(words[j * step : (j + 1) * step])
        sentence = f"12 {body}" if j % 2 == 0 else body
        ents = [[0, 2, "CARDINAL"]] if j % 2 == 0 else []
        noun_chunks = [[k, k + 9] for k in range(3, max(len(sentence) - 9, 3), 30)]
        meta = {"ents": json.dumps(ents), "chunks": json.dumps(noun_chunks)}
        out.append(StoredSentence(chunk_id, j, sentence, vectors[j], meta))
    return out


def retrieval_latencies(retriever, questions: list[str], vectors: list[np.ndarray]) -> dict:
    """Wall and CPU ms per retrieval. `typed`: distinct typed questions, each reading its 30 leading chunks'
    sentences (cold sentence cache, as a served bot rarely repeats); `typed_repeat`: the first one asked again
    (sentences cached); `untyped`: the same questions without a type; vector-only and BM25-only: each half."""
    from rag.evidence import Asked
    from rag.question import analyse

    asked = [Asked.of(analyse(q)) for q in questions]
    snap = retriever.snapshot()
    pairs = list(zip(questions, vectors, asked))
    runs = {
        "typed": [lambda q=q, v=v, a=a: _cold(retriever).retrieve(q, 8, query_vector=v, asked=a) for q, v, a in pairs],
        "typed_repeat": [lambda: retriever.retrieve(questions[0], 8, query_vector=vectors[0], asked=asked[0])]
        * len(pairs),
        "untyped": [lambda q=q, v=v: retriever.retrieve(q, 8, query_vector=v) for q, v, _ in pairs],
        "vector_only": [lambda v=v: retriever.store.query(v, 8) for v in vectors],
        "bm25_only": [lambda q=q: retriever._keyword(snap, q) for q in questions],
    }
    out: dict = {}
    for name, calls in runs.items():
        wall, cpu = _time_calls(calls)
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = _pct(wall, 50), _pct(wall, 95)
        out[f"{name}_cpu_p50_ms"] = _pct(cpu, 50)
    out["p50_ms"], out["p95_ms"] = out["typed_p50_ms"], out["typed_p95_ms"]
    return out


def _cold(retriever):
    """The retriever with its sentence cache emptied: the typed question reads every sentence from the store."""
    retriever._sentences.clear()
    return retriever


def _time_calls(calls: list) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for call in calls:
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, cpus


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def _load_avg() -> float:
    return round(os.getloadavg()[0], 1)


if __name__ == "__main__":  # pragma: no cover - `python -m bench.scale 1000 10000 100000`
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="citebot-scale-") as tmp_name:
        sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
        print(json.dumps(bench_retrieval_scale(Path(tmp_name), sizes), indent=1))
