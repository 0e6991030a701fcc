"""Ingest's sentence vectors: pooled from the chunk's own pass, recorded per document, re-embedded on a change.

Real parts: MiniLM, embedded Chroma in tmp dirs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import Ingester
from rag.embedding import MiniLMEmbedder
from rag.settings import Settings
from rag.store import ChromaStore

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _stored(settings: Settings) -> dict[str, tuple[str, np.ndarray]]:
    """chunk_id:index -> (sentence text, stored vector)."""
    store = ChromaStore(settings)
    chunks = store.all_chunks()
    return {f"{s.chunk_id}:{s.index}": (s.text, s.embedding) for s in store.sentences_for([c.chunk_id for c in chunks])}


def test_changing_how_sentence_vectors_are_made_re_embeds_every_document(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for file in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(file, corpus / file.name)
    separate = Settings(_env_file=None, data_dir=tmp_path / "data", sentence_vectors="separate")
    first = Ingester(separate, embedder=embedder, sentence_annotator=None).run([corpus], progress=False)
    assert first.added == 2 and first.pooled_sentences == 0 and first.sentence_embed_cpu > 0
    own = _stored(separate)
    text, vector = next(iter(own.values()))
    assert float(vector @ embedder.embed_documents([text])[0]) > 0.9999  # a second pass of its own

    pooled = separate.model_copy(update={"sentence_vectors": "pooled"})
    assert Ingester(pooled).is_stale([corpus])  # the index was built the other way
    second = Ingester(pooled, embedder=embedder, sentence_annotator=None).run([corpus], progress=False)
    assert (second.updated, second.unchanged) == (2, 0)
    assert second.pooled_sentences == second.sentences > 0 and second.sentence_embed_cpu == 0.0
    now = _stored(pooled)
    assert set(now) == set(own)  # the same sentence records, new vectors
    cosines = [float(now[k][1] @ own[k][1]) for k in own]
    assert min(cosines) < 0.99 and float(np.mean(cosines)) > 0.6  # pooled in context: near, not identical
    entry = next(iter(ChromaStore(pooled).file_entries().values()))
    assert entry["sentence_vectors"] == "pooled-v1"

    ingester = Ingester(pooled)  # no embedder: it would be loaded on first use
    third = ingester.run([corpus], progress=False)
    assert (third.unchanged, third.chunks) == (2, 0) and ingester._embedder is None
