"""Chunk, embed and upsert articles idempotently; prune deleted ones.

Idempotence lives in the chunks themselves: every chunk carries its document's `content_hash` and
`chunk_count`. A document is unchanged when Chroma holds exactly `chunk_count` chunks with the current
hash; anything else (a changed file, or a run killed mid-document) is deleted and written again. The
sentence records are written before the chunks, so a document whose chunks are complete is complete.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core import Document
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import MetadataMode, TextNode

from ingest.loaders import LoadedDocument, LoadError, discover, load_file, load_manifest
from rag import nlp
from rag.embedding import MINILM_MAX_TOKENS, Embedder, build_embedder
from rag.errors import CitebotError
from rag.settings import Settings
from rag.store import ChromaStore, StoredSentence
from rag.text import split_sentences

log = logging.getLogger(__name__)

CHUNK_TOKENS = 230  # word pieces incl. the title line; + [CLS]/[SEP] stays under the model's 256
CHUNK_OVERLAP = 20
FIRST_GROUP_CHUNKS = 8  # chunks embedded together before the first write (doubles per group)
EMBED_GROUP_CHUNKS = 64  # chunks (from several documents) embedded together once the run is going
META_KEYS = (
    "doc_id",
    "source",
    "title",
    "publisher",
    "date",
    "url",
    "content_hash",
    "chunk_count",
    "chunk_index",
    "ingested_at",
    "embedding_model",
)


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    pruned: int = 0
    chunks: int = 0  # chunks written in this run
    total_chunks: int = 0  # chunks in the index afterwards
    seconds: float = 0.0
    embed_seconds: float = 0.0
    annotate_seconds: float = 0.0  # named entities of the stored sentences (spaCy)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = [
            ("files", self.files),
            ("added", self.added),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("failed", self.failed),
            ("pruned", self.pruned),
            ("chunks written", self.chunks),
            ("chunks in index", self.total_chunks),
            ("seconds", f"{self.seconds:.2f}"),
            ("entity seconds", f"{self.annotate_seconds:.2f}"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


@dataclass
class _Pending:
    """A document chunked and waiting for its vectors."""

    doc: LoadedDocument
    nodes: list[TextNode]
    replaces: bool  # an older version of it is in the index


SentenceAnnotator = Callable[[list[str]], list[dict]]


class Ingester:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        store: ChromaStore | None = None,
        sentence_annotator: SentenceAnnotator | None = nlp.annotate_sentences,
    ) -> None:
        """`sentence_annotator` gives each sentence's flat metadata (entities) once, at ingest; None skips it
        (the reader then computes entities at question time)."""
        self.settings = settings
        self.sentence_annotator = sentence_annotator
        self.embedder = embedder or build_embedder(settings)
        self.store = store or ChromaStore(settings)
        self.splitter = SentenceSplitter(
            chunk_size=CHUNK_TOKENS,
            chunk_overlap=CHUNK_OVERLAP,
            tokenizer=self._word_pieces,
        )
        # llama-index's ingestion pipeline does the chunking; embedding and writes are batched across
        # documents below (the pipeline's own embed step would embed one document at a time)
        self.pipeline = IngestionPipeline(transformations=[self.splitter], disable_cache=True)  # bounded memory
        self._vector_store = None
        self._piece_counts: dict[str, int] = {}  # the splitter re-counts the same pieces; kept per document

    def _word_pieces(self, text: str) -> list[int]:
        count = self._piece_counts.get(text)
        if count is None:
            count = self._piece_counts[text] = max(self.embedder.count_tokens(text) - 2, 0)
        return [0] * count

    def run(self, paths: list[Path], prune: bool = False, reindex: bool = False, progress: bool = True) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        if reindex:
            self.store.drop()
        self.store.open_for_write(self.embedder.name, self.embedder.dim)
        self._vector_store = self.store.llama_vector_store()
        found = discover(paths)
        manifests = {root: load_manifest(root) for root in {root for _, root in found}}
        report.files = len(found)
        seen_sources: set[str] = set()
        bar = _progress(len(found), enabled=progress)
        # Documents are embedded in groups (fewer, fuller, length-sorted batches) and written in order.
        # The first group is small so progress shows early; later ones grow to EMBED_GROUP_CHUNKS.
        pending: list[_Pending] = []
        target = FIRST_GROUP_CHUNKS
        try:
            for file, root in found:
                try:
                    doc = load_file(file, root, manifests[root])
                except LoadError as exc:
                    report.failed += 1
                    report.failures.append(str(exc))
                    print(f"citebot: skipped {exc}", file=sys.stderr)
                    seen_sources.add(_source_of(file, root))  # a broken file is not a deleted file
                    bar.update(1)
                    continue
                seen_sources.add(doc.source)
                existing = self.store.document_chunks(doc.doc_id)
                if existing and _complete(existing, doc.content_hash):
                    report.unchanged += 1
                    bar.update(1)
                    continue
                try:
                    nodes = self._chunk(doc)
                except CitebotError:
                    self._write_group(pending, report, bar)  # what came before is kept, as it was one by one
                    raise
                pending.append(_Pending(doc, nodes, replaces=bool(existing)))
                if sum(len(p.nodes) for p in pending) >= target:
                    self._write_group(pending, report, bar)
                    pending = []
                    target = min(target * 2, EMBED_GROUP_CHUNKS)
            self._write_group(pending, report, bar)
        finally:
            bar.close()
        if prune:
            report.pruned = self._prune(seen_sources)
        if report.added or report.updated or report.pruned:
            self.store.mark_changed()  # running engines pick the change up without reading every chunk
        report.total_chunks = self.store.count()
        report.seconds = time.perf_counter() - started
        return report

    def _write_group(self, group: list[_Pending], report: IngestReport, bar) -> None:
        """Embed the chunks and sentences of several documents at once, then write them.

        Every sentence of the group is written before any of its chunks: a document whose chunks are
        complete has its sentences, whatever moment a kill -9 strikes.
        """
        if not group:
            return
        nodes = [node for item in group for node in item.nodes]
        per_doc = [self._sentences(item.nodes) for item in group]
        # A sentence in the chunk overlap appears twice in its document: embed it once per document
        # (not once per group, so copies of a file, as in the benchmark corpus, are not shortcuts).
        unique = [text for sentences in per_doc for text in dict.fromkeys(s.text for s in sentences)]
        t0 = time.perf_counter()
        vectors = self.embedder.embed_documents(
            [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes] + unique
        )
        report.embed_seconds += time.perf_counter() - t0
        metas = self._annotate(unique, report)
        for node, vector in zip(nodes, vectors):
            node.embedding = vector.tolist()
        sentence_vectors = iter(vectors[len(nodes) :])
        all_sentences: list[StoredSentence] = []
        doc_ids: list[str] = []
        for item, sentences in zip(group, per_doc):
            if item.replaces:
                self.store.delete_document(item.doc.doc_id)
            by_text = {text: next(sentence_vectors) for text in dict.fromkeys(s.text for s in sentences)}
            for sentence in sentences:
                sentence.embedding = by_text[sentence.text]
                sentence.meta = metas.get(sentence.text, {})
            all_sentences += sentences
            doc_ids += [item.doc.doc_id] * len(sentences)
        self.store.add_sentences(all_sentences, doc_ids)  # one write for the group, before any of its chunks
        self._vector_store.add(nodes)
        report.chunks += len(nodes)
        for item in group:
            if item.replaces:
                report.updated += 1
            else:
                report.added += 1
        bar.update(len(group))

    def _chunk(self, doc: LoadedDocument) -> list[TextNode]:
        metadata = {
            "doc_id": doc.doc_id,
            "source": doc.source,
            "title": doc.title,
            "publisher": doc.publisher or "",
            "date": doc.date or "",
            "url": doc.url or "",
            "content_hash": doc.content_hash,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "embedding_model": self.embedder.name,
        }
        document = Document(
            text=doc.text,
            id_=doc.doc_id,
            metadata=metadata,
            excluded_embed_metadata_keys=[k for k in metadata if k != "title"],
            excluded_llm_metadata_keys=[k for k in metadata if k != "title"],
            metadata_template="{value}",
        )
        try:
            nodes = self.pipeline.run(documents=[document], show_progress=False)
        finally:
            self._piece_counts.clear()
        for index, node in enumerate(nodes):
            node.id_ = f"{doc.doc_id}:{doc.content_hash[:8]}:{index:04d}"
            node.metadata["chunk_index"] = index
            node.metadata["chunk_count"] = len(nodes)
            node.excluded_embed_metadata_keys = [k for k in node.metadata if k != "title"]
            node.excluded_llm_metadata_keys = [k for k in node.metadata if k != "title"]
        if self.embedder.name.startswith("all-MiniLM"):
            texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]
            for index, tokens in enumerate(_count_tokens(self.embedder, texts)):
                if tokens > MINILM_MAX_TOKENS:
                    raise CitebotError(f"{doc.source}: chunk {index} has {tokens} word pieces, over the model's window")
        return nodes

    def _annotate(self, texts: list[str], report: IngestReport) -> dict[str, dict]:
        if self.sentence_annotator is None or not texts:
            return {}
        t0 = time.perf_counter()
        unique = list(dict.fromkeys(texts))
        metas = dict(zip(unique, self.sentence_annotator(unique), strict=True))
        report.annotate_seconds += time.perf_counter() - t0
        return metas

    @staticmethod
    def _sentences_of_texts(texts: list[str]) -> list[str]:
        return [text[lo:hi] for text in texts for lo, hi in split_sentences(text)]

    @staticmethod
    def _sentences(nodes: list[TextNode]) -> list[StoredSentence]:
        out = []
        for node in nodes:
            text = node.get_content(metadata_mode=MetadataMode.NONE)
            for index, (lo, hi) in enumerate(split_sentences(text)):
                out.append(StoredSentence(node.node_id, index, text[lo:hi], embedding=None))  # type: ignore[arg-type]
        return out

    def _prune(self, seen_sources: set[str]) -> int:
        pruned: set[str] = set()
        for chunk in self.store.all_chunks(include_text=False):
            if chunk.metadata.get("source") not in seen_sources and chunk.metadata.get("doc_id") not in pruned:
                self.store.delete_document(chunk.metadata["doc_id"])
                pruned.add(chunk.metadata["doc_id"])
        return len(pruned)

    def is_stale(self, paths: list[Path]) -> bool:
        """True when any file is new or changed (or the index is missing/from another model)."""
        if not self.store.exists():
            return True
        found = discover(paths)
        manifests = {root: load_manifest(root) for root in {root for _, root in found}}
        for file, root in found:
            try:
                doc = load_file(file, root, manifests[root])
            except LoadError:
                continue
            if not _complete(self.store.document_chunks(doc.doc_id), doc.content_hash):
                return True
        return False


def _count_tokens(embedder: Embedder, texts: list[str]) -> list[int]:
    batch = getattr(embedder, "count_tokens_batch", None)
    return batch(texts) if batch else [embedder.count_tokens(t) for t in texts]


def _complete(chunks: list, content_hash: str) -> bool:
    if not chunks:
        return False
    expected = chunks[0].metadata.get("chunk_count")
    return len(chunks) == expected and all(c.metadata.get("content_hash") == content_hash for c in chunks)


def _source_of(file: Path, root: Path) -> str:
    return file.relative_to(root).as_posix() if file != root else file.name


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="ingest", disable=not enabled or total == 0, file=sys.stderr)


def ingest_paths(
    settings: Settings,
    paths: list[Path],
    prune: bool = False,
    reindex: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
) -> IngestReport:
    return Ingester(settings, embedder=embedder).run(paths, prune=prune, reindex=reindex, progress=progress)


def run_ingest_cli(
    settings: Settings, paths: list[Path], prune: bool, reindex: bool, if_stale: bool, quiet: bool
) -> int:
    try:
        discover(paths)  # a missing path fails before the model loads
        ingester = Ingester(settings)
        if if_stale and not reindex and not ingester.is_stale(paths):
            print("citebot: index is up to date", file=sys.stderr)
            return 0
        report = ingester.run(paths, prune=prune, reindex=reindex, progress=not quiet)
    except LoadError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.failed else 0
