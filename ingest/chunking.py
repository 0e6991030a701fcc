"""A loaded document -> chunks (llama-index nodes, under the model's window) and their prose sentences.

`embed_text(node)` is the one place that says which text of a chunk is embedded.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.loaders import LoadedDocument
from rag.errors import CitebotError
from rag.store import StoredSentence
from rag.text import split_sentences

CHUNK_TOKENS = 230  # word pieces incl. the title line; + [CLS]/[SEP] stays under the model's 256
CHUNK_OVERLAP = 20
# Where an over-long sentence (a code block, a table) may be cut: after , . ; followed by a space, never
# inside a token such as "MEDIA/SUBTYPE.xml" or a URL (llama-index's default cuts after every "." it sees).
SUB_SENTENCE_REGEX = r"(?:[^,.;。？！]|[,.;。？！](?=\S))+[,.;。？！]?|[,.;。？！]"


@dataclass
class ChunkSentence:
    """A sentence record to store, and where it stands in its chunk's text (characters [lo, hi))."""

    record: StoredSentence
    lo: int
    hi: int


def embed_text(node: Any) -> str:
    """The text a chunk is embedded from: decided by rag.store_format (the index format records it)."""
    from rag.store_format import node_embedding_text

    return node_embedding_text(node)


def node_text(node: Any) -> str:
    """The chunk text alone (what is stored, cited and split into sentences)."""
    from llama_index.core.schema import MetadataMode

    return node.get_content(metadata_mode=MetadataMode.NONE)


class Chunker:
    """Cuts documents with llama-index's SentenceSplitter, counting length in the model's word pieces."""

    def __init__(self, embedder: Callable[[], Any]) -> None:
        self._embedder = embedder  # called only when something is chunked: loads the model lazily
        self._splitter: Any = None
        self._piece_counts: dict[str, int] = {}  # the splitter re-counts the same pieces; kept per document

    @property
    def splitter(self) -> Any:
        if self._splitter is None:
            from llama_index.core.node_parser import SentenceSplitter

            self._splitter = SentenceSplitter(
                chunk_size=CHUNK_TOKENS,
                chunk_overlap=CHUNK_OVERLAP,
                tokenizer=self._word_pieces,
                secondary_chunking_regex=SUB_SENTENCE_REGEX,
            )
        return self._splitter

    def _word_pieces(self, text: str) -> list[int]:
        count = self._piece_counts.get(text)
        if count is None:
            count = self._piece_counts[text] = max(self._embedder().count_tokens(text) - 2, 0)
        return [0] * count

    def chunk(self, doc: LoadedDocument) -> list[Any]:
        from llama_index.core import Document

        embedder = self._embedder()
        metadata = {
            "doc_id": doc.doc_id,
            "source": doc.source,
            "title": doc.title,
            "publisher": doc.publisher or "",
            "date": doc.date or "",
            "url": doc.url or "",
            "content_hash": doc.content_hash,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "embedding_model": embedder.name,
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
        starts = chunk_starts(doc.text, [node_text(n) for n in nodes])
        for index, (node, start) in enumerate(zip(nodes, starts)):
            node.id_ = f"{doc.doc_id}:{doc.content_hash[:8]}:{index:04d}"
            node.metadata["chunk_index"] = index
            node.metadata["chunk_count"] = len(nodes)
            node.metadata["section"] = doc.section_at(start)
            node.metadata["section_starts"] = section_starts(doc, start, len(node_text(node)))
            node.metadata["chunk_start"] = start
            node.excluded_embed_metadata_keys = [k for k in node.metadata if k != "title"]
            node.excluded_llm_metadata_keys = [k for k in node.metadata if k != "title"]
        if embedder.name.startswith("all-MiniLM"):
            self._check_window(embedder, nodes)
        return nodes

    @staticmethod
    def _check_window(embedder: Any, nodes: list[Any]) -> None:
        from rag.embedding import MINILM_MAX_TOKENS

        texts = [embed_text(node) for node in nodes]
        batch = getattr(embedder, "count_tokens_batch", None)
        counts = batch(texts) if batch else [embedder.count_tokens(t) for t in texts]
        for index, tokens in enumerate(counts):
            if tokens > MINILM_MAX_TOKENS:
                raise CitebotError(f"chunk {index} has {tokens} word pieces, over the model's window")


def chunk_sentences(doc: LoadedDocument, nodes: list[Any]) -> list[ChunkSentence]:
    """Prose sentences of each chunk: code blocks and heading lines are never sentences."""
    out = []
    for node in nodes:
        text = node_text(node)
        start = int(node.metadata.get("chunk_start", -1))
        index = 0
        blocks = chunk_blocks(doc, start, len(text))
        for sentence_lo, sentence_hi in split_sentences(text):
            for lo, hi in prose_pieces(text, sentence_lo, sentence_hi, blocks):
                record = StoredSentence(node.node_id, index, text[lo:hi], embedding=None)  # type: ignore[arg-type]
                out.append(ChunkSentence(record, lo, hi))
                index += 1
    return out


MIN_PIECE_WORDS = 4  # a cut-off remnant shorter than this ("or:", "instead.") says nothing on its own


@dataclass
class ChunkBlocks:
    """Where a chunk's headings and code blocks stand and where its list entries start or end, in the
    chunk's own offsets: looked up once per chunk, not once per sentence."""

    blocked: list[tuple[int, int]]
    cuts: list[int]


def chunk_blocks(doc: LoadedDocument, start: int, length: int) -> ChunkBlocks | None:
    """The block spans of the chunk at [start, start + length) of the document (None: position unknown)."""
    if start < 0:
        return None
    end = start + length
    blocked = [(a - start, b - start) for a, b in doc.code_spans + doc.heading_spans if a < end and start < b]
    cuts = sorted({at - start for a, b in doc.item_spans for at in (a, b) if start < at < end})
    return ChunkBlocks(blocked, cuts)


def prose_pieces(text: str, lo: int, hi: int, blocks: ChunkBlocks | None) -> list[tuple[int, int]]:
    """The prose of sentence [lo, hi) of a chunk's text: without the heading or code block it runs into,
    and cut where a list entry starts or ends.

    The sentence splitter joins a line to the next one when it lacks a full stop and the next starts in
    lower case (text wrapped in the HTML source), so "NOTES\n\ngit gc tries very hard ..." or an entry
    "eventName {string}\n\nlistener {Function}" comes out as one; the document's block spans tell them apart.
    """
    if blocks is None:
        return [(lo, hi)] if text[lo:hi].strip(" `\n") else []
    pieces = [(lo, hi)]
    for a, b in blocks.blocked:
        if a < hi and lo < b:
            pieces = [part for p_lo, p_hi in pieces for part in ((p_lo, min(p_hi, a)), (max(p_lo, b), p_hi))]
            pieces = [(p_lo, p_hi) for p_lo, p_hi in pieces if p_lo < p_hi]
    for cut in blocks.cuts:
        if lo < cut < hi:
            pieces = [part for p_lo, p_hi in pieces for part in _cut(p_lo, p_hi, cut)]
    if pieces == [(lo, hi)]:
        return [trimmed] if (trimmed := _trimmed(text, lo, hi)) else []
    kept = [trimmed for p_lo, p_hi in pieces if (trimmed := _trimmed(text, p_lo, p_hi))]
    return [(a, b) for a, b in kept if len(text[a:b].split()) >= MIN_PIECE_WORDS]


def _cut(lo: int, hi: int, at: int) -> tuple[tuple[int, int], ...]:
    return ((lo, at), (at, hi)) if lo < at < hi else ((lo, hi),)


def _trimmed(text: str, lo: int, hi: int) -> tuple[int, int] | None:
    """[lo, hi) without surrounding whitespace and fences; None when no word is left."""
    if hi <= lo:
        return None
    piece = text[lo:hi]
    inner = piece.strip(" `\n")
    if not re.search(r"\w", inner):
        return None
    first = lo + piece.index(inner)
    return first, first + len(inner)


def sentences_of_texts(texts: list[str]) -> list[str]:
    return [text[lo:hi] for text in texts for lo, hi in split_sentences(text)]


def section_starts(doc: LoadedDocument, start: int, length: int) -> str:
    """Sections that begin inside the chunk, as JSON [[offset in the chunk, heading path], ...] ("" if none).

    A chunk can span several headings: a citation shows the heading its quote stands under
    (rag.store_records.section_of), not only the chunk's first one. JSON: Chroma metadata is flat.
    """
    if start < 0:
        return ""
    inside = [[offset - start, path] for offset, path in doc.sections if start < offset < start + length]
    return json.dumps(inside, ensure_ascii=False) if inside else ""


def chunk_starts(text: str, chunks: list[str]) -> list[int]:
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
