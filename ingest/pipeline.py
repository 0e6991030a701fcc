"""Plan, chunk, embed and write documents; prune deleted ones. Safe for readers at every moment.

**Identity.** A document is its resolved path (or `--source NAME` + relative path): see
ingest/discovery.py. `--prune` removes only documents under this run's paths (or of its source name)
whose files are gone.

**Unchanged files** are recognised from the file registry (`<collection>_files` in Chroma, one entry
per document, written only after all of its chunks): same size and mtime, or else the same bytes
(sha256). Neither the embedding model nor any chunk is read for them.

**Readers never see half a document.** Chunk ids contain the content hash, so a new version is written
next to the old one (sentences, then chunks), then recorded in the registry, then the old version's
chunks are deleted. A reader's snapshot (rag/retrieval.py) keeps, per document, the newest version whose
chunk_count chunks are all present, so it sees the old version or the new one, never a mix. A run
killed at any point leaves complete documents, and the next run finishes the rest.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.discovery import Candidate, Discovered, discover
from ingest.loaders import LOADER_VERSION, LoadedDocument, LoadError, load_bytes, load_manifest, read_bytes
from rag import nlp
from rag.errors import CitebotError, IndexMismatchError, StoreUnavailableError
from rag.settings import EmbeddingKind, Settings
from rag.store import ChromaStore, StoredSentence
from rag.store_format import node_embedding_text
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
    "key",  # the identity: resolved path, or "NAME:relative/path"
    "section",  # heading path, e.g. "functools — … > partial Objects"
    "chunk_start",  # offset of the chunk in the document's clean text
    "version_ns",  # when this version was chunked: readers keep the newest complete version
)  # the metadata of every chunk

SentenceAnnotator = Callable[[list[str]], list[dict]]
"""Sentence texts -> one flat dict (str/int/float/bool values) per sentence, stored with each sentence record."""


class StoreWriteError(CitebotError):
    """Writing to Chroma failed mid-run (disk full, server gone); what was written before is complete."""


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0  # files skipped (with a reason in `failures`)
    pruned: int = 0
    chunks: int = 0  # chunks written in this run
    sentences: int = 0  # sentence records written in this run
    total_chunks: int = 0  # chunks in the index afterwards
    seconds: float = 0.0
    embed_seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    annotate_seconds: float = 0.0  # named entities of the stored sentences (spaCy)
    failures: list[str] = field(default_factory=list)
    pruned_sources: list[str] = field(default_factory=list)
    planned: dict[str, list[str]] = field(default_factory=dict)  # --dry-run: add/update/prune -> sources
    dry_run: bool = False

    def summary(self) -> str:
        rows: list[tuple[str, object]] = [
            ("files", self.files),
            ("added", self.added),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("skipped", self.failed),
            ("pruned", self.pruned),
            ("chunks written", self.chunks),
            ("sentences written", self.sentences),
            ("chunks in index", self.total_chunks),
        ]
        if self.embed_seconds and self.chunks:
            rows.append(("chunks per second", f"{self.chunks / self.embed_seconds:.1f}"))
        rows += [(f"seconds {name}", f"{value:.2f}") for name, value in self.stages.items()]
        rows.append(("seconds", f"{self.seconds:.2f}"))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


@dataclass
class _Pending:
    """A changed document: loaded, later chunked, waiting for its vectors."""

    cand: Candidate
    doc: LoadedDocument
    entry: dict[str, Any]  # its new file-registry entry
    replaces: bool
    nodes: list[Any] = field(default_factory=list)
    sentences: list[StoredSentence] = field(default_factory=list)


SentenceAnnotator = Callable[[list[str]], list[dict]]


class Ingester:
    def __init__(
        self,
        settings: Settings,
        embedder: Any = None,
        store: ChromaStore | None = None,
        sentence_annotator: SentenceAnnotator | None = nlp.annotate_sentences,
    ) -> None:
        """`sentence_annotator` gives each sentence's flat metadata (entities) once, at ingest; None skips it
        (the reader then computes entities at question time)."""
        self.settings = settings
        self.sentence_annotator = sentence_annotator
        self._embedder = embedder  # loaded only when something has to be embedded
        self.store = store or ChromaStore(settings)
        self._splitter: Any = None
        self._piece_counts: dict[str, int] = {}  # the splitter re-counts the same pieces; kept per document

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
    def splitter(self) -> Any:
        if self._splitter is None:
            from llama_index.core.node_parser import SentenceSplitter

            self._splitter = SentenceSplitter(
                chunk_size=CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP, tokenizer=self._word_pieces
            )
        return self._splitter

    def _word_pieces(self, text: str) -> list[int]:
        count = self._piece_counts.get(text)
        if count is None:
            count = self._piece_counts[text] = max(self.embedder.count_tokens(text) - 2, 0)
        return [0] * count

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
        with _stage(report, "scan"):
            found = discover(paths, source_name)
            report.files = len(found.candidates)
            for display, reason in found.skipped:
                _skip(report, display, reason)
            if reindex and not dry_run:
                self.store.drop()
            exists = self.store.exists()
            if exists:
                self.store.check_format()
            entries = self.store.file_entries() if exists and not reindex else {}
        with _stage(report, "read"):
            pending, refreshed = self._plan(found, entries, report)
        doomed = self._prune_list(found, entries) if prune else []
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
            with _stage(report, "prune"):
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

    def _plan(
        self, found: Discovered, entries: dict[str, dict], report: IngestReport
    ) -> tuple[list[_Pending], dict[str, dict]]:
        """Changed documents (loaded), and registry entries to refresh for files only touched."""
        manifests: dict[Path, dict] = {}
        pending: list[_Pending] = []
        refreshed: dict[str, dict] = {}
        model = self.model_name
        present = {e.get("file_hash"): e.get("source") for e in entries.values() if e.get("key") in found.present_keys}
        for cand in found.candidates:
            entry = entries.get(cand.doc_id)
            try:
                info = cand.path.stat()
            except OSError as exc:
                _skip(report, cand.source, f"not readable ({exc.strerror or exc})")
                continue
            same_build = bool(entry) and entry.get("loader") == LOADER_VERSION and entry.get("embedding_model") == model
            if same_build and entry.get("size") == info.st_size and entry.get("mtime_ns") == info.st_mtime_ns:
                report.unchanged += 1
                continue
            try:
                raw = read_bytes(cand.path)
                file_hash = hashlib.sha256(raw).hexdigest()
                if same_build and entry.get("file_hash") == file_hash:
                    report.unchanged += 1
                    refreshed[cand.doc_id] = {**entry, "size": info.st_size, "mtime_ns": info.st_mtime_ns}
                    continue
                if entry is None and present.get(file_hash):  # a copy under another name: one document
                    _skip(report, cand.source, f"same bytes as {present[file_hash]}: indexed once")
                    continue
                present.setdefault(file_hash, cand.source)
                if cand.root not in manifests:
                    manifests[cand.root] = load_manifest(cand.root)
                doc = load_bytes(raw, cand.path, cand.root, manifests[cand.root], key=cand.key, source=cand.source)
            except LoadError as exc:
                _skip(report, cand.source, _reason(exc, cand))
                continue
            except Exception as exc:  # a parser's own error on a malformed file: this file only
                log.debug("load failed for %s", cand.path, exc_info=True)
                _skip(report, cand.source, f"could not be read ({type(exc).__name__}: {exc})")
                continue
            new_entry = self._entry(cand, doc, info.st_size, info.st_mtime_ns, file_hash, model)
            if same_build and entry.get("content_hash") == doc.content_hash:
                report.unchanged += 1
                refreshed[cand.doc_id] = {**entry, **new_entry, "chunk_count": entry.get("chunk_count", 0)}
                continue
            pending.append(_Pending(cand, doc, new_entry, replaces=entry is not None))
        return pending, refreshed

    @staticmethod
    def _entry(cand: Candidate, doc: LoadedDocument, size: int, mtime_ns: int, file_hash: str, model: str) -> dict:
        return {
            "doc_id": cand.doc_id,
            "key": cand.key,
            "source": doc.source,
            "path": str(cand.path),
            "title": doc.title,
            "size": size,
            "mtime_ns": mtime_ns,
            "file_hash": file_hash,
            "content_hash": doc.content_hash,
            "loader": LOADER_VERSION,
            "embedding_model": model,
        }

    @staticmethod
    def _prune_list(found: Discovered, entries: dict[str, dict]) -> list[str]:
        """Documents under this run's scope whose files are gone (a file that failed to load is not gone)."""
        present = {c.doc_id for c in found.candidates}
        return sorted(
            doc_id
            for doc_id, entry in entries.items()
            if doc_id not in present
            and found.scope.covers(str(entry.get("key", "")))
            and str(entry.get("key", "")) not in found.present_keys
        )

    # -- chunk, embed, write ------------------------------------------------------------------------
    def _write_all(self, pending: list[_Pending], report: IngestReport, progress: bool) -> None:
        with _stage(report, "chunk"):
            ready = []
            for item in pending:
                try:
                    item.nodes = self._chunk(item.doc)
                    item.sentences = self._sentences(item)
                except (CitebotError, ValueError) as exc:  # e.g. llama-index "Metadata length ... chunk size"
                    _skip(report, item.doc.source, f"could not be chunked ({exc})")
                    continue
                ready.append(item)
        total = sum(len(item.nodes) for item in ready)
        bar = _progress(total, enabled=progress)
        try:
            group: list[_Pending] = []
            target = FIRST_GROUP_CHUNKS
            for item in ready:
                group.append(item)
                if sum(len(p.nodes) for p in group) >= target:
                    self._write_group(group, report, bar)
                    group = []
                    target = min(target * 2, EMBED_GROUP_CHUNKS)
            self._write_group(group, report, bar)
        finally:
            bar.close()

    def _write_group(self, group: list[_Pending], report: IngestReport, bar: Any) -> None:
        """Embed the chunks and sentences of several documents at once, then write them.

        Order per group: sentences, chunks, registry entries, then the older versions are deleted.
        """
        if not group:
            return

        nodes = [node for item in group for node in item.nodes]
        # A sentence in the chunk overlap appears twice in its document: embed it once per document
        unique = [text for item in group for text in dict.fromkeys(s.text for s in item.sentences)]
        t0 = time.perf_counter()
        vectors = self.embedder.embed_documents([node_embedding_text(node) for node in nodes] + unique)
        elapsed = time.perf_counter() - t0
        report.embed_seconds += elapsed
        report.stages["embed"] = report.stages.get("embed", 0.0) + elapsed
        for node, vector in zip(nodes, vectors):
            node.embedding = vector.tolist()
        sentence_vectors = iter(vectors[len(nodes) :])
        all_sentences: list[StoredSentence] = []
        doc_ids: list[str] = []
        for item in group:
            by_text = {text: next(sentence_vectors) for text in dict.fromkeys(s.text for s in item.sentences)}
            for sentence in item.sentences:
                sentence.embedding = by_text[sentence.text]
            all_sentences += item.sentences
            doc_ids += [item.doc.doc_id] * len(item.sentences)
        self._annotate(all_sentences, report)
        t0 = time.perf_counter()
        try:
            self.store.add_sentences(all_sentences, doc_ids)  # before any of the group's chunks
            self.store.llama_vector_store().add(nodes)
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
        report.stages["write"] = report.stages.get("write", 0.0) + time.perf_counter() - t0
        report.chunks += len(nodes)
        report.sentences += len(all_sentences)
        for item in group:
            if item.replaces:
                report.updated += 1
            else:
                report.added += 1
        bar.update(len(nodes))

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
        elapsed = time.perf_counter() - t0
        report.annotate_seconds += elapsed
        report.stages["entities"] = report.stages.get("entities", 0.0) + elapsed

    def _chunk(self, doc: LoadedDocument) -> list[Any]:
        from llama_index.core import Document
        from llama_index.core.schema import MetadataMode

        from rag.embedding import MINILM_MAX_TOKENS

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
            "key": doc.key,
            "version_ns": time.time_ns(),
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
            nodes = self.splitter.get_nodes_from_documents([document])
        finally:
            self._piece_counts.clear()
        starts = _chunk_starts(doc.text, [n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes])
        for index, (node, start) in enumerate(zip(nodes, starts)):
            node.id_ = f"{doc.doc_id}:{doc.content_hash[:8]}:{index:04d}"
            node.metadata["chunk_index"] = index
            node.metadata["chunk_count"] = len(nodes)
            node.metadata["section"] = doc.section_at(start)
            node.metadata["chunk_start"] = start
            node.excluded_embed_metadata_keys = [k for k in node.metadata if k != "title"]
            node.excluded_llm_metadata_keys = [k for k in node.metadata if k != "title"]
        if self.embedder.name.startswith("all-MiniLM"):
            texts = [node_embedding_text(node) for node in nodes]
            for index, tokens in enumerate(_count_tokens(self.embedder, texts)):
                if tokens > MINILM_MAX_TOKENS:
                    raise CitebotError(f"chunk {index} has {tokens} word pieces, over the model's window")
        return nodes

    @staticmethod
    def _sentences_of_texts(texts: list[str]) -> list[str]:
        return [text[lo:hi] for text in texts for lo, hi in split_sentences(text)]

    @staticmethod
    def _sentences(item: _Pending) -> list[StoredSentence]:
        """Prose sentences of each chunk: code blocks and heading lines are never sentences."""
        from llama_index.core.schema import MetadataMode

        out = []
        for node in item.nodes:
            text = node.get_content(metadata_mode=MetadataMode.NONE)
            start = int(node.metadata.get("chunk_start", -1))
            index = 0
            for lo, hi in split_sentences(text):
                if start >= 0 and item.doc.non_prose(start + lo, start + hi):
                    continue
                if not text[lo:hi].strip(" `\n"):
                    continue
                out.append(StoredSentence(node.node_id, index, text[lo:hi], embedding=None))  # type: ignore[arg-type]
                index += 1
        return out

    def is_stale(self, paths: list[Path], source_name: str | None = None, prune: bool = False) -> bool:
        """True when any file is new or changed, or (with prune) gone, or the index is missing.

        Reads no chunk and loads no model.
        """
        if not self.store.exists():
            return True
        self.store.check_format()
        found, entries = discover(paths, source_name), self.store.file_entries()
        pending, _ = self._plan(found, entries, IngestReport())
        return bool(pending) or (prune and bool(self._prune_list(found, entries)))


def _chunk_starts(text: str, chunks: list[str]) -> list[int]:
    """Where each chunk starts in the document text (chunks are in order and may overlap)."""
    starts, pos = [], 0
    for chunk in chunks:
        found = text.find(chunk, pos)
        if found < 0:
            found = text.find(chunk)
        starts.append(found)
        if found >= 0:
            pos = found + 1
    return starts


def _skip(report: IngestReport, display: str, reason: str) -> None:
    report.failed += 1
    report.failures.append(f"{display}: {reason}")


def _reason(exc: LoadError, cand: Candidate) -> str:
    text = str(exc)
    for prefix in (f"{cand.source}: ", f"{cand.path.name}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _write_error(store: ChromaStore, exc: Exception) -> StoreWriteError:
    text = str(exc) or type(exc).__name__
    hint = "free some disk space" if "disk" in text.lower() or "space" in text.lower() else "check the store"
    return StoreWriteError(
        f"writing to {store.where} failed ({type(exc).__name__}: {text[:300]}): {hint} and run the same "
        "ingest again; documents written before this point are complete and the rest will be written then"
    )


@contextmanager
def _stage(report: IngestReport, name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        report.stages[name] = report.stages.get(name, 0.0) + time.perf_counter() - t0


def _count_tokens(embedder: Any, texts: list[str]) -> list[int]:
    batch = getattr(embedder, "count_tokens_batch", None)
    return batch(texts) if batch else [embedder.count_tokens(t) for t in texts]


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _RichBar:
    """Chunks embedded, with rate and time left (rich), on stderr."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("chunks  {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._started = time.perf_counter()
        self._done = 0
        self._task = self._progress.add_task("embed", total=total, rate="")
        self._progress.start()

    def update(self, n: int) -> None:
        self._done += n
        rate = self._done / max(time.perf_counter() - self._started, 1e-6)
        self._progress.update(self._task, advance=n, rate=f"{rate:.1f}/s")

    def close(self) -> None:
        self._progress.stop()


class _LineProgress:
    """Not a terminal (logs, compose, CI): one line per written group, with rate and time left."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        print(
            f"embedded {self.done}/{self.total} chunks ({rate:.1f}/s, {left:.0f} s left)", file=sys.stderr, flush=True
        )

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or not total:
        return _NoBar()
    return _RichBar(total) if sys.stderr.isatty() else _LineProgress(total)


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
    _print_report(report)
    return 1 if strict and report.failed else 0


def _print_report(report: IngestReport) -> None:
    if report.dry_run:
        print("dry run: nothing was written")
        for action in ("add", "update", "prune"):
            for source in report.planned.get(action, []):
                print(f"would {action}  {source}")
    for source in report.pruned_sources:
        print(f"pruned  {source}")
    for failure in report.failures:
        print(f"citebot: skipped {failure}", file=sys.stderr)
    print(report.summary())
