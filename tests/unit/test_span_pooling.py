"""Sentence vectors pooled from their chunk's own model pass (issue 13: one model pass per token)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_index.core.schema import MetadataMode

from ingest.chunking import ChunkSentence
from ingest.vectors import embed_group, pool_context, sentence_vector_build
from rag.embedding import MiniLMEmbedder, span_vectors
from rag.store import StoredSentence
from rag.text import split_sentences

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_a_span_is_the_mean_of_the_word_pieces_inside_it() -> None:
    states = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 0.0], [0.0, 4.0], [9.0, 9.0]], dtype=np.float32)
    # [CLS], "ab" (0-2), "cd" (3-5), "ef" (5-8), [SEP]: special tokens have empty offsets
    offsets = np.array([[0, 0], [0, 2], [3, 5], [5, 8], [0, 0]])
    out = span_vectors(states, offsets, [(0, 5), (3, 8), (2, 3), (4, 8)])
    assert np.allclose(out[0], [1.0, 0.0])  # mean (2, 0), normalised; [CLS]/[SEP] never count
    assert np.allclose(out[1], np.array([3.0, 4.0]) / 5.0)  # mean (1.5, 2) -> (0.6, 0.8)
    assert not out[2].any()  # no word piece inside: the zero vector (the caller embeds it alone)
    assert np.allclose(out[3], [0.0, 1.0])  # "cd" (3-5) starts before the span: only "ef" is inside


def test_context_widens_a_span_by_word_pieces_on_each_side_never_onto_special_tokens() -> None:
    states = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 0.0], [0.0, 4.0], [9.0, 9.0]], dtype=np.float32)
    offsets = np.array([[0, 0], [0, 2], [3, 5], [5, 8], [0, 0]])
    out = span_vectors(states, offsets, [(3, 5), (5, 8), (2, 3)], context=1)
    assert np.allclose(out[0], np.array([4.0, 4.0]) / np.hypot(4.0, 4.0))  # "ab" + "cd" + "ef": mean (4/3, 4/3)
    assert np.allclose(out[1], np.array([3.0, 4.0]) / 5.0)  # "cd" + "ef"; [SEP] is not context
    assert not out[2].any()  # an empty span stays empty: context widens spans, it does not make them


def test_pool_context_is_read_from_the_mode_and_names_its_build() -> None:
    assert (pool_context("pooled"), pool_context("pooled-c4"), pool_context("separate")) == (0, 4, 0)
    assert sentence_vector_build("pooled") == "pooled-v1" and sentence_vector_build("pooled-c4") == "pooled-c4-v1"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _chunk() -> str:
    article = sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8")
    return article[:900]


def test_one_pass_gives_the_chunk_vector_and_a_vector_per_sentence(embedder: MiniLMEmbedder) -> None:
    text = _chunk()
    spans = split_sentences(text)
    chunk_vectors, sentence_vectors = embedder.embed_with_spans([text, "short"], [spans + [(0, len(text))], []])
    plain = embedder.embed_documents([text, "short"])
    assert np.min(np.sum(chunk_vectors * plain, axis=1)) > 0.9999  # the chunk vector is unchanged
    assert sentence_vectors[0].shape == (len(spans) + 1, 384) and sentence_vectors[1].shape == (0, 384)
    assert np.allclose(np.linalg.norm(sentence_vectors[0], axis=1), 1.0, atol=1e-5)
    assert float(sentence_vectors[0][-1] @ chunk_vectors[0]) > 0.999  # the whole text = all but [CLS]/[SEP]
    own = embedder.embed_documents([text[lo:hi] for lo, hi in spans])
    cosines = np.sum(sentence_vectors[0][:-1] * own, axis=1)
    assert np.all(cosines > 0.6)  # the same sentence, read in its context
    nearest = np.argmax(sentence_vectors[0][:-1] @ own.T, axis=1)
    assert (nearest == np.arange(len(spans))).mean() >= 0.8  # each pooled vector is nearest its own sentence


def test_span_lists_must_match_the_texts(embedder: MiniLMEmbedder) -> None:
    with pytest.raises(ValueError, match="span lists"):
        embedder.embed_with_spans(["one", "two"], [[]])


class _Node:
    """What embed_group reads of a llama-index node: its text, its metadata, get_content."""

    def __init__(self, title: str, text: str) -> None:
        self.title, self.text = title, text
        self.metadata = {"title": title, "section": ""}

    def get_content(self, metadata_mode=None) -> str:
        return f"{self.title}\n\n{self.text}" if metadata_mode == MetadataMode.EMBED else self.text


def _rows(node: _Node, chunk_id: str) -> list[ChunkSentence]:
    return [
        ChunkSentence(StoredSentence(chunk_id, i, node.text[lo:hi], embedding=None), lo, hi)  # type: ignore[arg-type]
        for i, (lo, hi) in enumerate(split_sentences(node.text))
    ]


def test_pooled_group_uses_no_second_pass_and_matches_its_own_spans(embedder: MiniLMEmbedder) -> None:
    node = _Node("A title", _chunk())
    rows = _rows(node, "c1")
    calls: list[int] = []
    original = embedder.embed_documents

    class Counting:
        name, dim = embedder.name, embedder.dim
        embed_with_spans = staticmethod(embedder.embed_with_spans)

        @staticmethod
        def embed_documents(texts: list[str]) -> np.ndarray:
            calls.append(len(texts))
            return original(texts)

    out = embed_group(Counting(), [node], [rows], "pooled")
    assert calls == [] and out.pooled == len(rows) and out.sentence_seconds == 0.0
    from ingest.chunking import embed_text

    embedded = embed_text(node)
    offset = embedded.index(node.text)  # 0 when the chunk's own words are embedded (rag.store_format)
    _, direct = embedder.embed_with_spans([embedded], [[(offset + s.lo, offset + s.hi) for s in rows]])
    assert np.allclose(np.stack(out.sentences), direct[0], atol=1e-6)  # spans shifted past any prefix


def test_separate_mode_and_embedders_without_token_states_embed_each_sentence(embedder: MiniLMEmbedder) -> None:
    node = _Node("A title", _chunk())
    rows = _rows(node, "c1")

    class NoStates:  # e.g. an OpenAI embedder: vectors only
        name, dim = embedder.name, embedder.dim
        embed_documents = staticmethod(embedder.embed_documents)

    for provider, mode in ((NoStates(), "pooled"), (embedder, "separate")):
        out = embed_group(provider, [node], [rows], mode)
        own = embedder.embed_documents([s.record.text for s in rows])
        assert out.pooled == 0
        assert np.min(np.sum(np.stack(out.sentences) * own, axis=1)) > 0.9999


def test_a_chunk_text_missing_from_its_embedded_text_falls_back_to_own_vectors(embedder: MiniLMEmbedder) -> None:
    class Rewritten(_Node):  # the embedded text does not contain the stored chunk text
        def __init__(self, title: str, text: str) -> None:
            super().__init__(title, text)
            self.stored = text
            self.text = "summary only"  # what rag.store_format embeds

        def get_content(self, metadata_mode=None) -> str:
            return self.stored

    good, odd = _Node("T", _chunk()), Rewritten("T", "The port reopened on Monday. Ships waited outside.")
    odd_rows = [
        ChunkSentence(StoredSentence("o", i, odd.stored[lo:hi], embedding=None), lo, hi)  # type: ignore[arg-type]
        for i, (lo, hi) in enumerate(split_sentences(odd.stored))
    ]
    rows = [_rows(good, "g"), odd_rows]
    out = embed_group(embedder, [good, odd], rows, "pooled")
    assert out.pooled == len(rows[0]) and len(out.sentences) == len(rows[0]) + len(rows[1])
    own = embedder.embed_documents([s.record.text for s in rows[1]])
    assert np.min(np.sum(np.stack(out.sentences[len(rows[0]) :]) * own, axis=1)) > 0.9999


def test_a_registry_entry_from_before_pooling_counts_as_separate() -> None:
    from ingest.loaders import LOADER_VERSION
    from ingest.planning import Build

    old = {"loader": LOADER_VERSION, "embedding_model": "m"}  # written before sentence_vectors existed
    assert Build("m", "separate-v1").matches(old)
    assert not Build("m", "pooled-v1").matches(old)
    assert Build("m", "pooled-v1").matches({**old, "sentence_vectors": "pooled-v1"})
    assert not Build("other", "pooled-v1").matches({**old, "sentence_vectors": "pooled-v1"})
    assert not Build("m", "pooled-v1").matches(None)
