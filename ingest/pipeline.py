"""Plan, chunk, embed and write documents; prune deleted ones. Safe for readers at every moment.

**Identity.** A document is its resolved path (or `--source NAME` + relative path): see
ingest/discovery.py. `--prune` removes only documents under this run's paths (or of its source name)
whose files are gone.

**Unchanged files** are recognised from the file registry (`<collection>_files` in Chroma, one entry
per document, written only after all of its chunks): ingest/planning.py. Neither the embedding model
nor any chunk is read for them.

**Sentence vectors** (ingest/vectors.py): embedded on their own by default, or pooled from the
chunk's own pass with CITEBOT_SENTENCE_VECTORS=pooled.

**Readers never see half a document.** Chunk ids contain the content hash, so a new version is written
next to the old one (sentences, then chunks), then recorded in the registry, then the old version's
chunks are deleted. A reader's snapshot (rag/retrieval.py) keeps, per document, the newest version whose
chunk_count chunks are all present, so it sees the old version or the new one, never a mix. A run
killed at any point leaves complete documents, and the next run finishes the rest.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.chunking import Chunker, chunk_sentences, sentences_of_texts
from ingest.discovery import discover
from ingest.loaders import LoadError
from ingest.planning import Build, Pending, plan, prune_list
from ingest.report import IngestReport, print_report, progress_bar, stage
from ingest.vectors import embed_group, sentence_vector_build
from rag.errors import CitebotError, IndexMismatchError, StoreUnavailableError
from rag.settings import EmbeddingKind, Settings
from rag.store import ChromaStore, StoredSentence

__all__ = ["IngestReport", "Ingester", "StoreWriteError", "ingest_paths", "run_ingest_cli"]

FIRST_GROUP_CHUNKS = 8  # chunks embedded together before the first write (doubles per group)
EMBED_GROUP_CHUNKS = 64  # chunks (from several documents) embedded together once the run is going
CHUNK_AHEAD = 16  # documents the chunking worker may have ready before the writer takes them

SentenceAnnotator = Callable[[list[str]], list[dict]]
"""Sentence texts -> one flat dict (str/int/float/bool values) per sentence, stored with each sentence record."""


def _default_annotator(texts: list[str]) -> list[dict]:
    from rag import nlp  # spaCy: imported only when sentences are written

    return nlp.annotate_sentences(texts)


class StoreWriteError(CitebotError):
    """Writing to Chroma failed mid-run (disk full, server gone); what was written before is complete."""


class Ingester:
    def __init__(
        self,
        settings: Settings,
        embedder: Any = None,
        store: ChromaStore | None = None,
        sentence_annotator: SentenceAnnotator | None = _default_annotator,
        overlap: bool = True,
    ) -> None:
        """`sentence_annotator` gives each sentence's flat metadata (entities) once, at ingest; None skips it
        (the reader then computes entities at question time). `overlap=False` chunks every document before
        the first is embedded (no worker thread: the bench's baseline)."""
        self.overlap = overlap
        self.settings = settings
        self.sentence_annotator = sentence_annotator
        self._embedder = embedder  # loaded only when something has to be embedded
        self.store = store or ChromaStore(settings)
        self.chunker = Chunker(lambda: self.embedder)

    # -- lazily built parts -------------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from rag.embedding import build_embedder

            self._embedder = build_embedder(self.settings)
        return self._embedder

    @property
    def model_name(self) -> str:
        if self._embedder is not None:
            return self._embedder.name
        if self.settings.embedding == EmbeddingKind.minilm:
            from rag.embedding import MINILM_NAME

            return MINILM_NAME
        return f"openai:{self.settings.openai_embedding_model}"

    @property
    def build(self) -> Build:
        return Build(self.model_name, sentence_vector_build(self.settings.sentence_vectors))

    # -- the run ------------------------------------------------------------------------------------
    def run(
        self,
        paths: list[Path],
        prune: bool = False,
        reindex: bool = False,
        progress: bool = True,
        dry_run: bool = False,
        source_name: str | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(dry_run=dry_run)
        with stage(report, "scan"):
            found = discover(paths, source_name)
            report.files = len(found.candidates)
            for display, reason in found.skipped:
                report.skip(display, reason)
            if reindex and not dry_run:
                self.store.drop()
            exists = self.store.exists()
            if exists:
                self.store.check_format()
            entries = self.store.file_entries() if exists and not reindex else {}
        with stage(report, "read"):
            pending, refreshed = plan(found, entries, self.build, report)
        doomed = prune_list(found, entries) if prune else []
        if dry_run:
            report.planned = {
                "add": [p.doc.source for p in pending if not p.replaces],
                "update": [p.doc.source for p in pending if p.replaces],
                "prune": [str(entries[d].get("source", d)) for d in doomed],
            }
            report.added, report.updated, report.pruned = (len(report.planned[k]) for k in ("add", "update", "prune"))
            report.total_chunks = self.store.count() if exists else 0
            report.seconds = time.perf_counter() - started
            return report
        # MiniLM's name fixes its dimension; a remote model's dimension can change under one name: ask it
        if pending or not exists or self.settings.embedding != EmbeddingKind.minilm:
            self.store.open_for_write(self.embedder.name, self.embedder.dim)
        self._write_all(pending, report, progress)
        try:
            self.store.put_file_entries(refreshed)  # touched but identical files: next time size+mtime match
            with stage(report, "prune"):
                for doc_id in doomed:
                    self.store.delete_document(doc_id)
                    report.pruned_sources.append(str(entries[doc_id].get("key", doc_id)))
                    report.pruned += 1
            if report.pruned:
                self.store.mark_changed()
        except (IndexMismatchError, StoreUnavailableError):
            raise
        except Exception as exc:
            raise _write_error(self.store, exc) from exc
        report.total_chunks = self.store.count()
        report.seconds = time.perf_counter() - started
        return report

    # -- chunk, embed, write ------------------------------------------------------------------------
    def _write_all(self, pending: list[Pending], report: IngestReport, progress: bool) -> None:
        """Chunk in a worker thread while this thread embeds and writes the previous group.

        The tokenizer, llama-index's splitter and onnxruntime release the GIL for much of their work, so on
        two cores the chunking of the next documents hides behind the model. Groups are formed in the
        documents' order, exactly as a sequential run forms them.
        """
        total = len(pending)
        bar = progress_bar(total, enabled=progress)
        chunked: queue.Queue = queue.Queue(maxsize=CHUNK_AHEAD if self.overlap else 0)
        stop = threading.Event()
        if self.overlap:
            threading.Thread(target=self._chunk_all, args=(pending, chunked, stop), daemon=True).start()
        else:
            self._chunk_all(pending, chunked, stop)
        try:
            group: list[Pending] = []
            target = FIRST_GROUP_CHUNKS
            while True:
                kind, item, value = chunked.get()
                if kind == "done":
                    report.add_stage("chunk", value[0], value[1])
                    break
                if kind == "error":
                    raise value
                if kind == "skip":
                    report.skip(item.doc.source, value)
                    bar.update(1)
                    continue
                group.append(item)
                if sum(len(p.nodes) for p in group) >= target:
                    self._write_group(group, report, bar)
                    group = []
                    target = min(target * 2, EMBED_GROUP_CHUNKS)
            self._write_group(group, report, bar)
        finally:
            stop.set()
            bar.close()

    def _chunk_all(self, pending: list[Pending], out: queue.Queue, stop: threading.Event) -> None:
        """The worker: ("item", item, None) | ("skip", item, reason) per document, then ("done", None, times)."""
        busy, cpu = 0.0, time.thread_time()  # wall while chunking (not while waiting for the writer), CPU
        try:
            for item in pending:
                if stop.is_set():
                    return
                t0 = time.perf_counter()
                reason = self._chunk(item)
                busy += time.perf_counter() - t0
                _put(out, ("skip", item, reason) if reason else ("item", item, None), stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread, which raises it
            _put(out, ("error", None, exc), stop)
            return
        _put(out, ("done", None, (busy, time.thread_time() - cpu)), stop)

    def _chunk(self, item: Pending) -> str | None:
        """Chunk one document and group its sentences by chunk; the reason when it cannot be chunked."""
        try:
            item.nodes = self.chunker.chunk(item.doc)
            flat = chunk_sentences(item.doc, item.nodes)
        except (CitebotError, ValueError) as exc:  # e.g. llama-index "Metadata length ... chunk size"
            return f"could not be chunked ({exc})"
        by_node: dict[str, list] = {node.node_id: [] for node in item.nodes}
        for sentence in flat:
            by_node[sentence.record.chunk_id].append(sentence)
        item.sentences = [by_node[node.node_id] for node in item.nodes]
        return None

    def _write_group(self, group: list[Pending], report: IngestReport, bar: Any) -> None:
        """Embed the chunks and sentences of several documents at once, then write them.

        Order per group: sentences, chunks, registry entries, then the older versions are deleted.
        """
        if not group:
            return
        nodes = [node for item in group for node in item.nodes]
        t0 = time.perf_counter()
        with stage(report, "embed"):
            vectors = embed_group(
                self.embedder,
                nodes,
                [rows for item in group for rows in item.sentences],
                self.settings.sentence_vectors,
            )
        report.embed_seconds += time.perf_counter() - t0
        report.sentence_embed_seconds += vectors.sentence_seconds
        report.sentence_embed_cpu += vectors.sentence_cpu
        report.pooled_sentences += vectors.pooled
        for node, vector in zip(nodes, vectors.chunks):
            node.embedding = vector.tolist()
        sentence_vectors = iter(vectors.sentences)
        all_sentences: list[StoredSentence] = []
        doc_ids: list[str] = []
        for item in group:
            for rows in item.sentences:
                for sentence in rows:
                    sentence.record.embedding = next(sentence_vectors)
                    all_sentences.append(sentence.record)
                    doc_ids.append(item.doc.doc_id)
        with stage(report, "entities"):
            self._annotate(all_sentences, report)
        with stage(report, "write"):
            self._store_group(group, nodes, all_sentences, doc_ids)
        report.chunks += len(nodes)
        report.sentences += len(all_sentences)
        for item in group:
            if item.replaces:
                report.updated += 1
            else:
                report.added += 1
        bar.update(len(group), len(nodes))

    def _store_group(self, group: list[Pending], nodes: list, sentences: list[StoredSentence], doc_ids: list) -> None:
        try:
            self.store.add_sentences(sentences, doc_ids)  # before any of the group's chunks
            self.store.add_nodes(nodes)
            self.store.put_file_entries(
                {item.doc.doc_id: {**item.entry, "chunk_count": len(item.nodes)} for item in group}
            )
            for item in group:
                self.store.delete_other_versions(item.doc.doc_id, item.doc.content_hash)
            self.store.mark_changed()  # running engines pick the change up without reading every chunk
        except (IndexMismatchError, StoreUnavailableError):
            raise
        except Exception as exc:
            raise _write_error(self.store, exc) from exc

    def _annotate(self, sentences: list[StoredSentence], report: IngestReport) -> None:
        """Each distinct sentence text annotated once (overlap copies share their annotations)."""
        if self.sentence_annotator is None or not sentences:
            return
        t0 = time.perf_counter()
        unique = list(dict.fromkeys(s.text for s in sentences))
        annotations = self.sentence_annotator(unique)
        if len(annotations) != len(unique):
            raise CitebotError(f"sentence annotator returned {len(annotations)} dicts for {len(unique)} sentences")
        by_text = dict(zip(unique, annotations))
        for sentence in sentences:
            sentence.meta = dict(by_text[sentence.text] or {})
        report.annotate_seconds += time.perf_counter() - t0

    @staticmethod
    def _sentences_of_texts(texts: list[str]) -> list[str]:
        return sentences_of_texts(texts)

    def is_stale(self, paths: list[Path], source_name: str | None = None, prune: bool = False) -> bool:
        """True when any file is new or changed, or (with prune) gone, or the index is missing.

        Reads no chunk and loads no model.
        """
        if not self.store.exists():
            return True
        self.store.check_format()
        found, entries = discover(paths, source_name), self.store.file_entries()
        pending, _ = plan(found, entries, self.build, IngestReport())
        return bool(pending) or (prune and bool(prune_list(found, entries)))


def _put(out: queue.Queue, message: tuple, stop: threading.Event) -> None:
    """Hand a message to the writer; give up when the writer has stopped (an error there ends the run)."""
    while not stop.is_set():
        try:
            out.put(message, timeout=0.2)
            return
        except queue.Full:
            continue


def _write_error(store: ChromaStore, exc: Exception) -> StoreWriteError:
    text = str(exc) or type(exc).__name__
    hint = "free some disk space" if "disk" in text.lower() or "space" in text.lower() else "check the store"
    return StoreWriteError(
        f"writing to {store.where} failed ({type(exc).__name__}: {text[:300]}): {hint} and run the same "
        "ingest again; documents written before this point are complete and the rest will be written then"
    )


def ingest_paths(
    settings: Settings,
    paths: list[Path],
    prune: bool = False,
    reindex: bool = False,
    progress: bool = True,
    embedder: Any = None,
    source_name: str | None = None,
) -> IngestReport:
    return Ingester(settings, embedder=embedder).run(
        paths, prune=prune, reindex=reindex, progress=progress, source_name=source_name
    )


def run_ingest_cli(
    settings: Settings,
    paths: list[Path],
    prune: bool,
    reindex: bool,
    if_stale: bool,
    quiet: bool,
    dry_run: bool = False,
    strict: bool = False,
    source_name: str | None = None,
) -> int:
    """`citebot ingest`: 0 when everything readable was ingested (skips listed), 1 with --strict and a skip."""
    try:
        ingester = Ingester(settings)
        if if_stale and not reindex and not dry_run and not ingester.is_stale(paths, source_name, prune):
            print("citebot: index is up to date", file=sys.stderr)
            return 0
        report = ingester.run(
            paths, prune=prune, reindex=reindex, progress=not quiet, dry_run=dry_run, source_name=source_name
        )
    except LoadError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return 2
    print_report(report)
    return 1 if strict and report.failed else 0
