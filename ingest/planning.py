"""Which files need work: new or changed files are loaded; unchanged ones are recognised cheaply.

A file is unchanged when its registry entry (same loader, model and sentence-vector build) has the same
size and mtime; else when its bytes hash the same (the entry is refreshed so the next run is cheap);
else when its clean text hashes the same. Neither the embedding model nor any chunk is read for them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from ingest.chunking import ChunkSentence
from ingest.discovery import Candidate, Discovered
from ingest.loaders import LOADER_VERSION, LoadedDocument, LoadError, load_bytes, load_manifest, read_bytes
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


def plan(found: Discovered, entries: dict[str, dict], build: Build, report: IngestReport) -> tuple[list[Pending], dict]:
    """Changed documents (loaded), and registry entries to refresh for files only touched."""
    manifests: dict[Any, dict] = {}
    pending: list[Pending] = []
    refreshed: dict[str, dict] = {}
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
                report.skip(cand.source, f"same bytes as {present[file_hash]}: indexed once")
                continue
            present.setdefault(file_hash, cand.source)
            if cand.root not in manifests:
                manifests[cand.root] = load_manifest(cand.root)
            doc = load_bytes(raw, cand.path, cand.root, manifests[cand.root], key=cand.key, source=cand.source)
        except LoadError as exc:
            report.skip(cand.source, _reason(exc, cand))
            continue
        except Exception as exc:  # a parser's own error on a malformed file: this file only
            log.debug("load failed for %s", cand.path, exc_info=True)
            report.skip(cand.source, f"could not be read ({type(exc).__name__}: {exc})")
            continue
        new_entry = registry_entry(cand, doc, info.st_size, info.st_mtime_ns, file_hash, build)
        if same_build and entry.get("content_hash") == doc.content_hash:
            report.unchanged += 1
            refreshed[cand.doc_id] = {**entry, **new_entry, "chunk_count": entry.get("chunk_count", 0)}
            continue
        pending.append(Pending(cand, doc, new_entry, replaces=entry is not None))
    return pending, refreshed


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
