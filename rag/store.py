"""Chroma, embedded (PersistentClient) or a server (HttpClient), chosen by settings.

The only module that imports chromadb. Two collections: `<name>` holds chunks (the unit that is
retrieved and cited), `<name>_sentences` holds each chunk's sentences with their embeddings, so the
extractive generator never embeds passages at question time.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from rag.errors import IndexMismatchError, StoreUnavailableError
from rag.settings import Settings
from rag.store_format import EMBED_TEXT, FORMAT, format_of, mismatch_message, outdated, with_format
from rag.store_records import SENTENCE_KEYS, StoredChunk, StoredSentence, annotation, is_connection_error

log = logging.getLogger(__name__)

GET_PAGE = 2000  # Chroma caps one get(); page through larger collections
# The sentences collection is only ever read by chunk id (get with a where), never searched by vector, but Chroma
# builds an HNSW graph of every vector it stores: a sparse graph built with a short search costs a fifth of the
# default's CPU per sentence (10,000 sentences: 1.2 vs 5.8 CPU s). Collections built before keep their graph.
SENTENCE_IDS_PER_CHUNK = 16  # sentences read by id per chunk (sentences_for); a chunk with more: the rest by filter
SENTENCE_COLLECTION = {"hnsw:space": "cosine", "hnsw:M": 4, "hnsw:construction_ef": 8}
__all__ = ["ChromaStore", "StoredChunk", "StoredSentence"]


class ChromaStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None
        self._chunks: Any = None
        self._sentences: Any = None
        self._files: Any = None
        self._warned_format = False

    # -- connection ---------------------------------------------------------------------------
    @property
    def where(self) -> str:
        s = self._settings
        return f"Chroma at {s.chroma_host}:{s.chroma_port}" if s.chroma_host else f"Chroma in {s.chroma_dir}"

    def _unavailable(self, exc: Exception) -> StoreUnavailableError:
        if self._settings.chroma_host:
            hint = "start it with `chroma run` or unset CITEBOT_CHROMA_HOST to use the embedded store"
        else:
            hint = f"check that {self._settings.chroma_dir} is writable"
        return StoreUnavailableError(f"{self.where} is not reachable ({type(exc).__name__}): {hint}")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn connection failures into StoreUnavailableError and reconnect next time."""
        try:
            yield
        except (IndexMismatchError, StoreUnavailableError):
            raise
        except Exception as exc:
            if is_connection_error(exc):
                self._client = self._chunks = self._sentences = self._files = None
                raise self._unavailable(exc) from exc
            raise

    def _connect(self) -> None:
        if self._client is not None:
            return
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self._settings.chroma_host:
                self._client = chromadb.HttpClient(
                    host=self._settings.chroma_host, port=self._settings.chroma_port, settings=chroma_settings
                )
            else:
                self._settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(self._settings.chroma_dir), settings=chroma_settings)
        except Exception as exc:
            self._client = None
            raise self._unavailable(exc) from exc

    def _collection(self, create: bool, model: str | None = None, dim: int | None = None) -> Any:
        with self._guard():
            self._connect()
            if self._chunks is None:
                name = self._settings.collection
                if create:
                    meta = {"hnsw:space": "cosine", "embedding_model": model or "", "embedding_dim": dim or 0, **FORMAT}
                    self._chunks = self._client.get_or_create_collection(name, metadata=meta)
                    self._sentences = self._client.get_or_create_collection(
                        f"{name}_sentences", metadata=SENTENCE_COLLECTION
                    )
                else:
                    names = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
                    if name not in names:
                        return None
                    self._chunks = self._client.get_collection(name)
                    self._sentences = self._client.get_or_create_collection(
                        f"{name}_sentences", metadata=SENTENCE_COLLECTION
                    )
                self._files = self._client.get_or_create_collection(f"{name}_files")
            return self._chunks

    def reopen_if_embedded(self) -> None:
        """Embedded Chroma: see what another process wrote since this one opened the index.

        An embedded client keeps its vector segments in memory: chunks written or deleted by another
        process (a `citebot ingest` next to a running `citebot serve`) are missing from, or linger in,
        them, and reading their embeddings fails. A fresh client loads the segments from disk again.
        A Chroma server is always current: nothing to do.
        """
        if self._settings.chroma_host or self._client is None:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._guard():
            identifier = str(self._client.get_settings().persist_directory)
            SharedSystemClient._identifier_to_system.pop(identifier, None)
            SharedSystemClient._identifier_to_refcount.pop(identifier, None)
            fresh = ChromaStore(self._settings)
            if fresh._collection(create=False) is None:
                return
            # swapped one by one, each always a usable object: threads answering meanwhile keep working
            self._chunks, self._sentences, self._files = fresh._chunks, fresh._sentences, fresh._files
            self._client = fresh._client

    def ping(self) -> None:
        with self._guard():
            self._connect()
            self._client.heartbeat()

    # -- model bookkeeping ----------------------------------------------------------------------
    def open_for_write(self, model: str, dim: int) -> None:
        """Create the collections if needed; refuse an index built with another model."""
        collection = self._collection(create=True, model=model, dim=dim)
        self.check_model(model, dim, collection)
        self.check_format(collection)

    def check_format(self, collection: Any = None) -> None:
        """Refuse to write into an index of an older format (rag.store_format); an empty one is upgraded."""
        collection = collection or self._collection(create=False)
        if collection is None:
            return
        keys = outdated(collection.metadata)
        if not keys:
            return
        with self._guard():
            if collection.count() == 0:
                collection.modify(metadata=with_format(collection.metadata))
                return
        raise IndexMismatchError(mismatch_message(self.where, keys, collection.metadata))

    def check_model(self, model: str, dim: int, collection: Any = None) -> None:
        collection = collection or self._collection(create=False)
        if collection is None:
            return
        meta = collection.metadata or {}
        built_model, built_dim = meta.get("embedding_model"), meta.get("embedding_dim")
        if built_model and (built_model != model or int(built_dim or 0) != dim):
            raise IndexMismatchError(
                f"the index was built with {built_model} ({built_dim} dimensions) but citebot is configured "
                f"for {model} ({dim} dimensions): run `citebot ingest PATH --reindex` to rebuild it"
            )
        if "embed_text" in outdated(meta) and not self._warned_format:
            self._warned_format = True  # readable (its vectors only match a little less well): say so once
            log.warning(
                "index_format_outdated: the index in %s embedded its chunks as %r, this citebot embeds %r; it is "
                "readable but ranks a little worse: rebuild it once with `citebot ingest PATH... --reindex`",
                self.where,
                format_of(meta)["embed_text"],
                EMBED_TEXT,
            )

    def exists(self) -> bool:
        return self._collection(create=False) is not None

    def drop(self) -> None:
        with self._guard():
            self._connect()
            base = self._settings.collection
            for name in (base, f"{base}_sentences", f"{base}_files"):
                try:
                    self._client.delete_collection(name)
                except Exception as exc:  # missing collection: nothing to drop
                    if is_connection_error(exc):
                        raise
            self._chunks = self._sentences = self._files = None

    # -- llama-index view -----------------------------------------------------------------------
    def llama_vector_store(self) -> Any:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        collection = self._collection(create=False)
        if collection is None:
            raise StoreUnavailableError("the collection does not exist yet: run `citebot ingest seeds/` first")
        return ChromaVectorStore(chroma_collection=collection)

    # -- writes ---------------------------------------------------------------------------------
    def add_nodes(self, nodes: Sequence[Any]) -> None:
        """Write chunks (llama-index nodes with vectors) in batches Chroma takes: llama-index's own cap
        (41,665) is above Chroma's max batch size (5,461), so a long manual's chunks failed in one add."""
        if not nodes:
            return
        vector_store = self.llama_vector_store()
        with self._guard():
            step = self._client.get_max_batch_size()
            for lo in range(0, len(nodes), step):
                vector_store.add(list(nodes[lo : lo + step]))

    def add_sentences(self, sentences: Sequence[StoredSentence], doc_ids: Sequence[str]) -> None:
        """Upsert sentences (of one or several documents; doc_ids[i] is sentence i's) in one write."""
        if not sentences:
            return
        with self._guard():
            step = self._client.get_max_batch_size()  # a long manual has more sentences than Chroma takes at once
            for lo in range(0, len(sentences), step):
                batch, batch_ids = sentences[lo : lo + step], doc_ids[lo : lo + step]
                self._sentences.upsert(
                    ids=[f"{s.chunk_id}:s{s.index}" for s in batch],
                    embeddings=np.stack([s.embedding for s in batch]),
                    documents=[s.text for s in batch],
                    metadatas=[
                        {**annotation(s.meta), "chunk_id": s.chunk_id, "doc_id": doc_id, "index": s.index}
                        for s, doc_id in zip(batch, batch_ids, strict=True)
                    ],
                )

    def add_chunk_vectors(
        self, ids: Sequence[str], embeddings: np.ndarray, texts: Sequence[str], metadatas: Sequence[dict]
    ) -> None:
        """Write chunks with ready vectors (bulk loads such as the bench's synthetic 100k index)."""
        with self._guard():
            self._chunks.add(ids=list(ids), embeddings=embeddings, documents=list(texts), metadatas=list(metadatas))
        self.mark_changed()

    def delete_document(self, doc_id: str) -> int:
        """Remove a document: its file entry first (so it is re-ingested if interrupted), then its chunks.

        Returns the number of chunks removed. Readers never see a part of it: a document with fewer
        chunks than its chunk_count is left out of their snapshot.
        """
        with self._guard():
            collection = self._collection(create=False)
            if collection is None:
                return 0
            ids = collection.get(where={"doc_id": doc_id}, include=[])["ids"]
            self._files.delete(ids=[doc_id])
            if ids:
                collection.delete(ids=ids)
            self._sentences.delete(where={"doc_id": doc_id})
            return len(ids)

    def delete_other_versions(self, doc_id: str, keep_hash: str) -> int:
        """After a new version of a document is complete, remove every chunk of its older versions."""
        with self._guard():
            collection = self._collection(create=False)
            if collection is None:
                return 0
            ids = collection.get(
                where={"$and": [{"doc_id": doc_id}, {"content_hash": {"$ne": keep_hash}}]}, include=[]
            )["ids"]
            if ids:
                collection.delete(ids=ids)
                self._sentences.delete(where={"chunk_id": {"$in": ids}})
            return len(ids)

    # -- the file registry: what was ingested from where, for quick unchanged checks -----------------
    def file_entries(self) -> dict[str, dict[str, Any]]:
        """doc_id -> its file entry (key, source, path, size, mtime_ns, file_hash, content_hash, ...)."""
        if self._collection(create=False) is None:
            return {}
        out: dict[str, dict[str, Any]] = {}
        with self._guard():
            offset = 0
            while True:
                page = self._files.get(include=["metadatas"], limit=GET_PAGE, offset=offset)
                out.update({i: dict(m or {}) for i, m in zip(page["ids"], page["metadatas"])})
                if len(page["ids"]) < GET_PAGE:
                    return out
                offset += GET_PAGE

    def put_file_entries(self, entries: dict[str, dict[str, Any]]) -> None:
        """Record documents as complete: written only after all of a document's chunks are."""
        if not entries:
            return
        with self._guard():
            self._collection(create=False)
            ids = list(entries)
            self._files.upsert(ids=ids, embeddings=[[1.0]] * len(ids), metadatas=[entries[i] for i in ids])

    # -- reads ----------------------------------------------------------------------------------
    def count(self) -> int:
        collection = self._collection(create=False)
        if collection is None:
            return 0
        with self._guard():
            return int(collection.count())

    def all_chunks(self, include_text: bool = True) -> list[StoredChunk]:
        collection = self._collection(create=False)
        if collection is None:
            return []
        include = ["metadatas", "documents"] if include_text else ["metadatas"]
        out: list[StoredChunk] = []
        with self._guard():
            offset = 0
            while True:
                page = collection.get(include=include, limit=GET_PAGE, offset=offset)
                docs = page.get("documents") or [""] * len(page["ids"])
                out += [StoredChunk(i, t or "", m or {}) for i, t, m in zip(page["ids"], docs, page["metadatas"])]
                if len(page["ids"]) < GET_PAGE:
                    return out
                offset += GET_PAGE

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        collection = self._collection(create=False)
        if collection is None:
            return []
        with self._guard():
            page = collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        return [StoredChunk(i, "", m or {}) for i, m in zip(page["ids"], page["metadatas"])]

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        """The stored chunks (text and metadata) with these ids; unknown ids are left out."""
        collection = self._collection(create=False)
        if collection is None or not chunk_ids:
            return []
        with self._guard():
            page = collection.get(ids=list(dict.fromkeys(chunk_ids)), include=["metadatas", "documents"])
        docs = page.get("documents") or [""] * len(page["ids"])
        return [StoredChunk(i, t or "", m or {}) for i, t, m in zip(page["ids"], docs, page["metadatas"])]

    def query(self, embedding: np.ndarray, k: int) -> list[StoredChunk]:
        collection = self._collection(create=False)
        if collection is None:
            return []
        with self._guard():
            res = collection.query(
                query_embeddings=[embedding.tolist()],
                n_results=k,
                include=["metadatas", "documents", "distances"],
            )
        return [
            StoredChunk(i, t or "", m or {}, 1.0 - float(d))
            for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def nearest(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ids of the k chunks nearest `embedding`, with their cosine, best first: `query` without reading
        their texts and metadata (a retriever holding every chunk in its snapshot needs only the ids)."""
        collection = self._collection(create=False)
        if collection is None:
            return []
        with self._guard():
            res = collection.query(query_embeddings=[embedding.tolist()], n_results=k, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]

    def sentences_for(self, chunk_ids: Sequence[str]) -> list[StoredSentence]:
        """The stored sentences of these chunks, chunk by chunk in the order given, each chunk's in order.

        Read by id (a chunk's sentences are `<chunk id>:s0`, `:s1`, ... with no gap, as add_sentences
        writes them): the first SENTENCE_IDS_PER_CHUNK ids of every chunk, then, for a chunk holding all
        of those, the rest by a metadata filter. A filter on chunk_id alone for all of them reads the
        same sentences at twice the cost (30 chunks of 10,000: 15.5 vs 8.8 ms).
        """
        if not chunk_ids:
            return []
        self._collection(create=False)
        if self._sentences is None:
            return []
        chunk_ids = list(dict.fromkeys(chunk_ids))
        include = ["embeddings", "documents", "metadatas"]
        with self._guard():
            ids = [f"{c}:s{i}" for c in chunk_ids for i in range(SENTENCE_IDS_PER_CHUNK)]
            rows = _sentences_of(self._sentences.get(ids=ids, include=include))
            longer = sorted({s.chunk_id for s in rows if s.index == SENTENCE_IDS_PER_CHUNK - 1})
            if longer:
                rest = {"$and": [{"chunk_id": {"$in": longer}}, {"index": {"$gte": SENTENCE_IDS_PER_CHUNK}}]}
                rows += _sentences_of(self._sentences.get(where=rest, include=include))
        order = {c: n for n, c in enumerate(chunk_ids)}
        return sorted(rows, key=lambda s: (order.get(s.chunk_id, len(order)), s.index))

    def mark_changed(self) -> None:
        """Record in the collection that its content changed (read by change_token in every process)."""
        collection = self._collection(create=False)
        if collection is None:
            return
        with self._guard():
            meta = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
            meta["index_version"] = uuid.uuid4().hex[:16]
            collection.modify(metadata=meta)  # the distance function lives in the configuration, unchanged

    def change_token(self) -> str:
        """Cheap to read (no chunk is fetched): changes when chunks are added or removed, or an ingest ends."""
        with self._guard():
            self._connect()
            try:
                collection = self._client.get_collection(self._settings.collection)  # fresh metadata
            except Exception as exc:
                if is_connection_error(exc):
                    raise
                return "missing"
            return f"{collection.count()}:{(collection.metadata or {}).get('index_version', '')}"

    def fingerprint(self, chunks: Sequence[StoredChunk] | None = None) -> str:
        """A short hash of what is indexed: changes whenever a chunk is added, removed or changed."""
        chunks = self.all_chunks(include_text=False) if chunks is None else chunks
        digest = hashlib.sha256()
        for chunk in sorted(chunks, key=lambda c: c.chunk_id):
            digest.update(f"{chunk.chunk_id}:{chunk.metadata.get('content_hash', '')}\n".encode())
        return digest.hexdigest()[:16]


def _sentences_of(page: dict[str, Any]) -> list[StoredSentence]:
    return [
        StoredSentence(
            m["chunk_id"],
            int(m["index"]),
            t,
            np.asarray(e, dtype=np.float32),
            meta={k: v for k, v in m.items() if k not in SENTENCE_KEYS},
        )
        for t, m, e in zip(page["documents"], page["metadatas"], page["embeddings"])
    ]
