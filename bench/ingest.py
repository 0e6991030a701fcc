"""Ingest on the real HTML corpus shipped for tests (40 PostgreSQL manual pages), in CPU seconds.

In one process, after the model, Chroma and spaCy are loaded (process start-up is not pipeline work):
  - `citebot`'s ingest (Ingester.run), CPU seconds of every thread (`time.process_time`);
  - the floor: the same model embedding only the chunk texts that ingest embedded, same batching;
  - what the old design added: embedding every sentence on its own (CITEBOT_SENTENCE_VECTORS=separate);
  - plain llama-index: SentenceSplitter + VectorStoreIndex into Chroma with the same model;
  - the same ingest without the chunking worker (`Ingester(overlap=False)`): wall and CPU s;
then an unchanged re-ingest as a user runs it: a fresh `citebot ingest` process, wall seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rag.settings import Settings, settings_env

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "eval" / "corpora" / "postgresql" / "pages"


def _cpu(call: Any) -> tuple[Any, float, float]:
    """(result, CPU seconds, wall seconds) of call()."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = call()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def bench_corpus_ingest(tmp: Path, pages: Path = PAGES, baseline: bool = True) -> dict:
    from ingest.chunking import embed_text
    from ingest.pipeline import Ingester
    from rag import nlp
    from rag.embedding import MiniLMEmbedder
    from rag.store import ChromaStore

    corpus = tmp / "pages"
    shutil.copytree(pages, corpus)
    embedder = MiniLMEmbedder()
    ChromaStore(Settings(_env_file=None, data_dir=tmp / "warm-up")).open_for_write(embedder.name, embedder.dim)
    nlp.pipeline()
    embedder.embed_documents(["warm-up"])
    settings = Settings(_env_file=None, data_dir=tmp / "ingest")
    ingester = Ingester(settings, embedder=embedder)
    report, ingest_cpu, ingest_wall = _cpu(lambda: ingester.run([corpus], progress=False))
    chunks = ChromaStore(settings).all_chunks()
    texts = [_embedded(c, embed_text) for c in chunks]
    ids = [c.chunk_id for c in chunks]
    store = ChromaStore(settings)
    sentences = [s.text for start in range(0, len(ids), 100) for s in store.sentences_for(ids[start : start + 100])]
    _, floor_cpu, floor_wall = _cpu(lambda: embedder.embed_documents(texts))
    unique = list(dict.fromkeys(sentences))
    _, sentences_cpu, _ = _cpu(lambda: embedder.embed_documents(unique))
    out = {
        "corpus": f"{pages.relative_to(ROOT) if pages.is_relative_to(ROOT) else pages} ({report.files} files)",
        "chunks": report.chunks,
        "sentences": report.sentences,
        "pooled_sentences": report.pooled_sentences,
        "ingest_cpu_s": round(ingest_cpu, 2),
        "ingest_wall_s": round(ingest_wall, 2),
        "floor_cpu_s": round(floor_cpu, 2),
        "floor_wall_s": round(floor_wall, 2),
        "ingest_over_floor_cpu": round(ingest_cpu / floor_cpu, 3),
        "sentence_embedding_cpu_s": round(report.sentence_embed_cpu, 2),  # sentences embedded on their own
        "separate_sentences_would_cost_cpu_s": round(sentences_cpu, 2),  # the old design's second pass
        "stage_cpu_s": {k: round(v, 2) for k, v in report.cpu_stages.items()},
    }
    if baseline:
        out["llama_index_baseline_cpu_s"] = round(_llama_index_baseline(tmp, corpus, embedder), 2)
        out["sequential"] = _sequential(tmp, corpus, embedder)
    out["reingest_unchanged_wall_s"] = _cli_reingest_wall(settings, corpus)
    return out


def _sequential(tmp: Path, corpus: Path, embedder: Any) -> dict:
    """The same ingest with every document chunked before the first embed (no worker thread)."""
    from ingest.pipeline import Ingester

    settings = Settings(_env_file=None, data_dir=tmp / "sequential")
    ingester = Ingester(settings, embedder=embedder, overlap=False)
    _, cpu, wall = _cpu(lambda: ingester.run([corpus], progress=False))
    return {"ingest_cpu_s": round(cpu, 2), "ingest_wall_s": round(wall, 2)}


def _embedded(chunk: Any, embed_text: Any) -> str:
    from llama_index.core.schema import TextNode

    node = TextNode(text=chunk.text, metadata={"title": chunk.metadata.get("title", "")}, metadata_template="{value}")
    return embed_text(node)


def _llama_index_baseline(tmp: Path, corpus: Path, embedder: Any) -> float:
    """Plain llama-index over the same loaded texts: SentenceSplitter(230, 20) -> VectorStoreIndex in Chroma."""
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    from ingest.discovery import discover
    from ingest.loaders import load_bytes, load_manifest, read_bytes
    from rag.embedding import as_llama_embedding
    from rag.store import ChromaStore

    def run() -> None:
        docs = []
        for cand in discover([corpus]).candidates:
            doc = load_bytes(read_bytes(cand.path), cand.path, cand.root, load_manifest(cand.root), key=cand.key)
            docs.append(Document(text=doc.text, metadata={"title": doc.title}))
        store = ChromaStore(Settings(_env_file=None, data_dir=tmp / "baseline"))
        store.open_for_write(embedder.name, embedder.dim)
        context = StorageContext.from_defaults(vector_store=store.llama_vector_store())
        VectorStoreIndex.from_documents(
            docs,
            storage_context=context,
            embed_model=as_llama_embedding(embedder),
            transformations=[SentenceSplitter(chunk_size=230, chunk_overlap=20)],
        )

    return _cpu(run)[1]


def _cli_reingest_wall(settings: Settings, corpus: Path, repeats: int = 3) -> dict:
    """A fresh `citebot ingest` of the unchanged corpus, as typed in a shell: wall seconds (median, min)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(settings_env(settings), ANONYMIZED_TELEMETRY="False")
    citebot = str(Path(sys.executable).parent / "citebot")
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run([citebot, "ingest", str(corpus), "--quiet"], env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0 or "chunks written     0" not in proc.stdout:
            raise RuntimeError(f"unchanged re-ingest did work or failed: {proc.stdout[-300:]} {proc.stderr[-300:]}")
    return {"median": round(sorted(walls)[len(walls) // 2], 2), "min": round(min(walls), 2)}


if __name__ == "__main__":  # pragma: no cover
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="citebot-bench-ingest-") as name:
        print(json.dumps(bench_corpus_ingest(Path(name), baseline="--no-baseline" not in sys.argv), indent=2))
