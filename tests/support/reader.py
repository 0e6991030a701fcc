"""The offline reader over hand-made passages: one chunk per document, real MiniLM sentence vectors."""

from __future__ import annotations

from rag.embedding import MiniLMEmbedder
from rag.extractive import ExtractiveGenerator
from rag.passages import Passage
from rag.store import StoredSentence


def hand_made_reader(embedder: MiniLMEmbedder, docs: dict[str, list[str]]) -> tuple[ExtractiveGenerator, list[Passage]]:
    """A reader whose store holds `docs` (document id -> its sentences), and their passages in order."""
    passages, sentences = [], []
    for n, (doc_id, texts) in enumerate(docs.items(), start=1):
        chunk_id = f"{doc_id}-c0"
        passages.append(Passage(n, chunk_id, doc_id, f"{doc_id}.txt", doc_id, " ".join(texts), 1.0 / n))
        vectors = embedder.embed_documents(texts)
        sentences += [StoredSentence(chunk_id, i, t, v) for i, (t, v) in enumerate(zip(texts, vectors))]

    def sentences_for(chunk_ids):
        return [s for s in sentences if s.chunk_id in set(chunk_ids)]

    return ExtractiveGenerator(embedder, sentences_for), passages
