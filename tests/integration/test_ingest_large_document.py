"""A long manual: more sentences in one write than Chroma takes in one batch (found with the Debian Reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.settings import Settings
from rag.store import ChromaStore
from rag.store_records import StoredSentence


def test_sentences_beyond_chromas_batch_limit_are_all_written(tmp_path: Path) -> None:
    store = ChromaStore(Settings(_env_file=None, data_dir=tmp_path / "data"))
    store.open_for_write("test-model", 4)
    limit = store._client.get_max_batch_size()  # the limit the write must respect
    count = limit + 7
    vector = np.ones(4, dtype=np.float32) / 2.0
    sentences = [StoredSentence(f"c{i // 10}", i % 10, f"Sentence {i}.", vector) for i in range(count)]
    store.add_sentences(sentences, ["doc"] * count)
    found = store.sentences_for(sorted({s.chunk_id for s in sentences}))
    assert len(found) == count
    assert {s.text for s in found} >= {f"Sentence {count - 1}.", f"Sentence {limit}."}  # past the first batch


def test_chunks_beyond_chromas_batch_limit_are_all_written(tmp_path: Path) -> None:
    from llama_index.core.schema import TextNode

    store = ChromaStore(Settings(_env_file=None, data_dir=tmp_path / "data"))
    store.open_for_write("test-model", 4)
    count = store._client.get_max_batch_size() + 3  # llama-index's own batches (41,665) are above the limit
    vector = [0.5, 0.5, 0.5, 0.5]
    nodes = [
        TextNode(id_=f"doc:c{i}", text=f"Chunk {i}.", embedding=vector, metadata={"doc_id": "doc"})
        for i in range(count)
    ]
    store.add_nodes(nodes)
    assert store.count() == count
