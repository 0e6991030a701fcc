"""Which files need work: new or changed files are loaded; unchanged ones are recognised cheaply.

A file is unchanged when its registry entry (same loader, model and sentence-vector build) has the same
size and mtime; else when its bytes hash the same (the entry is refreshed so the next run is cheap);
else when its clean text hashes the same. Neither the embedding model nor any chunk is read for them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.boilerplate import edge_keys, shared_edges
from ingest.chunking import ChunkSentence
from ingest.discovery import Candidate, Discovered
from ingest.formats import Extracted
from ingest.loaders import (
    LOADER_VERSION,
    LoadedDocument,
    LoadError,
    build_document,
    load_manifest,
    read_bytes,
    read_document,
)
from ingest.report import IngestReport

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A changed document: loaded, later chunked, waiting for its vectors."""

    cand: Candidate
    doc: LoadedDocument
    entry: dict[str, Any]  # its new file-registry entry
    replaces: bool
    nodes: list[Any] = field(default_factory=list)
    sentences: list[list[ChunkSentence]] = field(default_factory=list)  # per node


@dataclass(frozen=True)
class Build:
    """What a stored document was made with; any difference means it is embedded again."""

    model: str
    sentence_vectors: str

    def matches(self, entry: dict | None) -> bool:
        return (
            bool(entry)
            and entry.get("loader") == LOADER_VERSION
            and entry.get("embedding_model") == self.model
            and entry.get("sentence_vectors", "separate-v1") == self.sentence_vectors
        )


@dataclass
class _Read:
    """A file whose blocks were read this run, waiting for its folder's shared header/footer to be known."""

    cand: Candidate
    entry: dict | None
    size: int
    mtime_ns: int
    file_hash: str
    extracted: Extracted


def plan(found: Discovered, entries: dict[str, dict], build: Build, report: IngestReport) -> tuple[list[Pending], dict]:
    """Changed documents (loaded), and registry entries to refresh for files only touched.

    Files are read in two passes: first the changed ones' blocks, then, once every folder's header and
    footer are known (ingest/boilerplate.py: from the edge blocks of all its documents, unchanged ones from
    their registry entries), the documents are built. An unchanged file whose share of that chrome changed
    (the page that kept a footer was deleted, a new page made a line common) is read again.
    """
    reads: list[_Read] = []
    unchanged: list[tuple[Candidate, dict, bool]] = []  # (cand, entry, touched: its size/mtime to refresh)
    present = {e.get("file_hash"): e.get("source") for e in entries.values() if e.get("key") in found.present_keys}
    for cand in found.candidates:
        entry = entries.get(cand.doc_id)
        try:
            info = cand.path.stat()
        except OSError as exc:
            report.skip(cand.source, f"not readable ({exc.strerror or exc})")
            continue
        same_build = build.matches(entry)
        if same_build and entry.get("size") == info.st_size and entry.get("mtime_ns") == info.st_mtime_ns:
            unchanged.append((cand, entry, False))
            continue
        raw = _read(cand, report)
        if raw is None:
            continue
        file_hash = hashlib.sha256(raw).hexdigest()
        if same_build and entry.get("file_hash") == file_hash:
            unchanged.append((cand, {**entry, "size": info.st_size, "mtime_ns": info.st_mtime_ns}, True))
            continue
        if entry is None and present.get(file_hash):  # a copy under another name: one document
            report.skip(cand.source, f"same bytes as {present[file_hash]}: indexed once")
            continue
        present.setdefault(file_hash, cand.source)
        extracted = _extract(cand, raw, report)
        if extracted is not None:
            reads.append(_Read(cand, entry, info.st_size, info.st_mtime_ns, file_hash, extracted))
    edges = {c.doc_id: str(e.get("edge_blocks", "")).split() for c, e, _ in unchanged}
    edges.update({r.cand.doc_id: edge_keys(r.extracted.blocks) for r in reads})
    drops = _folder_drops([c for c in found.candidates if c.doc_id in edges], edges, entries)
    refreshed: dict[str, dict] = {}
    for cand, entry, touched in unchanged:
        if entry.get("shared_sig", "") == shared_signature(drops[cand.doc_id]):
            report.unchanged += 1
            if touched:
                refreshed[cand.doc_id] = entry
            continue
        raw = _read(cand, report)  # its header/footer share changed: built again, embedded only if its text did
        extracted = _extract(cand, raw, report) if raw is not None else None
        if extracted is not None:
            info = cand.path.stat()
            file_hash = hashlib.sha256(raw).hexdigest()
            reads.append(_Read(cand, entry, info.st_size, info.st_mtime_ns, file_hash, extracted))
    pending = _build_all(reads, edges, drops, build, report, refreshed)
    return pending, refreshed


def _build_all(
    reads: list[_Read],
    edges: dict[str, list[str]],
    drops: dict[str, frozenset[str]],
    build: Build,
    report: IngestReport,
    refreshed: dict[str, dict],
) -> list[Pending]:
    manifests: dict[Any, dict] = {}
    pending: list[Pending] = []
    for read in sorted(reads, key=lambda r: r.cand.key):
        cand, entry = read.cand, read.entry
        drop = drops[cand.doc_id]
        try:
            if cand.root not in manifests:
                manifests[cand.root] = load_manifest(cand.root)
            doc = build_document(
                read.extracted,
                cand.path,
                cand.root,
                manifests[cand.root],
                key=cand.key,
                source=cand.source,
                shared=drop,
            )
        except LoadError as exc:
            report.skip(cand.source, _reason(exc, cand))
            continue
        new_entry = registry_entry(cand, doc, read.size, read.mtime_ns, read.file_hash, build)
        new_entry.update(edge_blocks=" ".join(edges[cand.doc_id]), shared_sig=shared_signature(drop))
        if build.matches(entry) and entry.get("content_hash") == doc.content_hash:
            report.unchanged += 1
            refreshed[cand.doc_id] = {**entry, **new_entry, "chunk_count": entry.get("chunk_count", 0)}
            continue
        pending.append(Pending(cand, doc, new_entry, replaces=entry is not None))
    return pending


def _folder_drops(
    cands: list[Candidate], edges: dict[str, list[str]], entries: dict[str, dict]
) -> dict[str, frozenset[str]]:
    """Per document, the header/footer blocks its folder shares (see shared_edges).

    A folder is every document of it: this run's files and the indexed ones whose files are still there,
    from their registry fingerprints, so a page re-ingested alone drops its footer as in a folder run."""
    folders: dict[Path, dict[str, tuple[str, list[str]]]] = {}
    for cand in cands:
        folders.setdefault(cand.path.parent, {})[cand.doc_id] = (cand.key, edges[cand.doc_id])
    for doc_id, entry in entries.items():
        path = Path(str(entry.get("path") or ""))
        docs = folders.get(path.parent)
        if docs is not None and doc_id not in docs and path.is_file():
            docs[doc_id] = (str(entry.get("key", "")), str(entry.get("edge_blocks", "")).split())
    out: dict[str, frozenset[str]] = {}
    for docs in folders.values():
        ordered = sorted(docs.items(), key=lambda item: item[1][0])  # the first by key keeps the block
        out.update(shared_edges({doc_id: keys for doc_id, (_, keys) in ordered}))
    return out


def shared_signature(drop: frozenset[str]) -> str:
    return hashlib.sha256(" ".join(sorted(drop)).encode()).hexdigest()[:16] if drop else ""


def _read(cand: Candidate, report: IngestReport) -> bytes | None:
    try:
        return read_bytes(cand.path)
    except LoadError as exc:
        report.skip(cand.source, _reason(exc, cand))
        return None


def _extract(cand: Candidate, raw: bytes, report: IngestReport) -> Extracted | None:
    try:
        return read_document(raw, cand.path, cand.source)
    except LoadError as exc:
        report.skip(cand.source, _reason(exc, cand))
    except Exception as exc:  # a parser's own error on a malformed file: this file only
        log.debug("load failed for %s", cand.path, exc_info=True)
        report.skip(cand.source, f"could not be read ({type(exc).__name__}: {exc})")
    return None


def registry_entry(
    cand: Candidate, doc: LoadedDocument, size: int, mtime_ns: int, file_hash: str, build: Build
) -> dict:
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
        "embedding_model": build.model,
        "sentence_vectors": build.sentence_vectors,
    }


def prune_list(found: Discovered, entries: dict[str, dict]) -> list[str]:
    """Documents under this run's scope whose files are gone (a file that failed to load is not gone)."""
    present = {c.doc_id for c in found.candidates}
    return sorted(
        doc_id
        for doc_id, entry in entries.items()
        if doc_id not in present
        and found.scope.covers(str(entry.get("key", "")))
        and str(entry.get("key", "")) not in found.present_keys
    )


def _reason(exc: LoadError, cand: Candidate) -> str:
    text = str(exc)
    for prefix in (f"{cand.source}: ", f"{cand.path.name}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
