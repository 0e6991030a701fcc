"""Files -> clean article text with stable ids, metadata, section headings and code spans.

Every format is first turned into blocks (ingest/formats.py: headings, prose, code), then joined
into one text: blocks separated by blank lines, code fenced with ``` and kept verbatim. The offsets
of headings and code blocks are kept so that chunks carry their section path and code is never
split into sentences. Web-page boilerplate that survives in scraped pages (navigation above the
headline, a list of other stories at the end) is dropped, not indexed (ingest/boilerplate.py): it is
not part of the article, and indexing it would let unrelated stories answer questions about it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.boilerplate import remove_boilerplate, remove_shared
from ingest.changelog import lead_releases, opens_with_release
from ingest.formats import (
    DOCX_SUFFIXES,
    GZIP_SUFFIX,
    HTML_SUFFIXES,
    MARKDOWN_SUFFIXES,
    PDF_SUFFIXES,
    RST_SOURCE_SUFFIX,
    RST_SUFFIXES,
    SUPPORTED,
    Block,
    Extracted,
    FormatError,
    decode,
    document_suffix,
    extract_docx,
    gunzip,
    looks_binary,
    text_blocks,
)
from ingest.htmlpage import extract_html
from ingest.markdown import markdown_blocks
from ingest.pdf import extract_pdf
from ingest.plaintext import plain_text_blocks
from ingest.rst import extract_rst

__all__ = ["SUPPORTED", "LoadError", "LoadedDocument", "load_file", "load_bytes", "doc_id_for"]

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TITLE_CHARS = 200  # a title is embedded with every chunk: a longer one would crowd out the text
LOADER_VERSION = "13"  # bump when cleaning changes, so unchanged files are re-ingested once
SECTION_SEP = " > "
CODE_FENCE = "```"

DATE_RE = re.compile(
    r"\b(\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}|"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2})\b"
)


class LoadError(Exception):
    """A file that cannot be ingested; the message names the file and the reason."""


@dataclass
class LoadedDocument:
    doc_id: str
    source: str  # for display: the path relative to the ingested folder, posix style
    title: str
    text: str
    content_hash: str
    publisher: str | None = None
    date: str | None = None
    url: str | None = None
    dropped_lines: int = 0
    extra: dict = field(default_factory=dict)
    key: str = ""  # the identity: resolved absolute path, or "NAME:relative/path" with --source NAME
    sections: list[tuple[int, str]] = field(default_factory=list)  # (offset where it starts, heading path)
    code_spans: list[tuple[int, int]] = field(default_factory=list)  # code blocks, fences included
    heading_spans: list[tuple[int, int]] = field(default_factory=list)
    item_spans: list[tuple[int, int]] = field(default_factory=list)  # list entries (prose without full stops)

    def section_at(self, offset: int) -> str:
        current = ""
        for start, path in self.sections:
            if start > offset:
                break
            current = path
        return current

    def non_prose(self, lo: int, hi: int) -> bool:
        """True when [lo, hi) of the text overlaps a code block or a heading line."""
        return any(a < hi and lo < b for a, b in self.code_spans + self.heading_spans)


def doc_id_for(key: str) -> str:
    """From the identity (resolved path or --source name + relative path), stable across content changes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def load_file(
    file: Path, root: Path, manifest: dict[str, dict] | None = None, key: str | None = None, source: str | None = None
) -> LoadedDocument:
    return load_bytes(read_bytes(file), file, root, manifest, key=key, source=source)


def load_bytes(
    raw: bytes,
    file: Path,
    root: Path,
    manifest: dict[str, dict] | None = None,
    key: str | None = None,
    source: str | None = None,
) -> LoadedDocument:
    source = source or (file.relative_to(root).as_posix() if file != root else file.name)
    return build_document(read_document(raw, file, source), file, root, manifest, key=key, source=source)


def read_document(raw: bytes, file: Path, source: str) -> Extracted:
    """A file's bytes -> its blocks, before any cleaning (gzip unpacked, read as the type its name gives)."""
    try:
        if file.name.lower().endswith(GZIP_SUFFIX):
            raw = gunzip(raw, MAX_FILE_BYTES)
        return _extract(raw, document_suffix(file.name))
    except FormatError as exc:
        raise LoadError(f"{source}: {exc}") from exc


def build_document(
    extracted: Extracted,
    file: Path,
    root: Path,
    manifest: dict[str, dict] | None = None,
    key: str | None = None,
    source: str | None = None,
    shared: frozenset[str] = frozenset(),
) -> LoadedDocument:
    """The cleaned document; `shared` are the folder's header/footer blocks to drop (ingest/boilerplate.py)."""
    source = source or (file.relative_to(root).as_posix() if file != root else file.name)
    key = key or str(file.resolve())
    is_scraped_text = document_suffix(file.name) not in (
        HTML_SUFFIXES | MARKDOWN_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES | RST_SUFFIXES
    )
    blocks, shared_dropped = remove_shared(extracted.blocks, shared)
    untitled = bool(extracted.meta.get("untitled"))
    assembled = assemble(blocks, dedupe=is_scraped_text, page_title=extracted.meta.get("title"), titled=not untitled)
    assembled.dropped += shared_dropped
    if not assembled.text.strip():
        raise LoadError(f"{source}: no article text left after cleaning (empty or only boilerplate)")
    meta = extracted.meta
    entry = (manifest or {}).get(source, {})
    title = _short_title(
        entry.get("title")
        or (None if untitled else assembled.title or meta.get("title") or derive_title(_after_entries(assembled)))
        or _file_title(file)
    )
    date = entry.get("date") or meta.get("date") or _find_date(assembled.text)
    content_hash = hashlib.sha256(f"{LOADER_VERSION}\n{title}\n{assembled.text}".encode()).hexdigest()
    return LoadedDocument(
        doc_id=doc_id_for(key),
        source=source,
        title=title,
        text=assembled.text,
        content_hash=content_hash,
        publisher=entry.get("publisher") or meta.get("publisher"),
        date=date,
        url=entry.get("url") or meta.get("url"),
        dropped_lines=assembled.dropped,
        key=key,
        sections=assembled.sections,
        code_spans=assembled.code_spans,
        heading_spans=assembled.heading_spans,
        item_spans=assembled.item_spans,
    )


def prose_sentences(doc: LoadedDocument, min_words: int = 4) -> list[str]:
    """Sentences of paragraphs (not code, headings, list entries or short label lines such as "See also").

    What the sentence-quality measure counts: a prose sentence that does not end in terminal
    punctuation was cut where it should not have been.
    """
    from rag.text import split_sentences

    out = []
    for lo, hi in split_sentences(doc.text):
        sentence = doc.text[lo:hi].strip()
        if not sentence or doc.non_prose(lo, hi) or any(a <= lo < b for a, b in doc.item_spans):
            continue
        if len(sentence.split()) >= min_words:
            out.append(sentence)
    return out


def _extract(raw: bytes, suffix: str) -> Extracted:
    if suffix in HTML_SUFFIXES:
        return extract_html(raw)
    if suffix in PDF_SUFFIXES:
        return extract_pdf(raw)
    if suffix in DOCX_SUFFIXES:
        return extract_docx(raw)
    if suffix in RST_SUFFIXES:
        return extract_rst(raw)
    if looks_binary(raw):
        raise FormatError("binary file (NUL bytes), not text")
    text = decode(raw)
    extracted = markdown_blocks(text) if suffix in MARKDOWN_SUFFIXES else Extracted(plain_text_blocks(text), {})
    return _as_notes(extracted)


def _as_notes(extracted: Extracted) -> Extracted:
    """A changelog's release headings lead their entries (ingest/changelog.py); one that opens with a
    release is named by its file, not by that release."""
    if opens_with_release(extracted.blocks):
        extracted.meta.update(title=None, untitled=True)
    return Extracted(lead_releases(extracted.blocks), extracted.meta)


@dataclass
class Assembled:
    text: str
    title: str | None
    sections: list[tuple[int, str]]
    code_spans: list[tuple[int, int]]
    heading_spans: list[tuple[int, int]]
    dropped: int
    item_spans: list[tuple[int, int]] = field(default_factory=list)


def assemble(
    blocks: list[Block], dedupe: bool = False, page_title: str | None = None, titled: bool = True
) -> Assembled:
    """Blocks -> one text (blank lines between blocks, code fenced), dropping site chrome.

    The heading that opens the document and names it (level 1, or the page's own title) becomes the
    title and the first section but is not repeated in the text: the title is stored with every chunk
    and scored with it, so a copy in the first chunk would count its words twice. `titled=False`: no
    heading names the document (a changelog's first heading is its latest release).
    """
    parts: list[str] = []
    offset = 0
    sections: list[tuple[int, str]] = []
    code_spans: list[tuple[int, int]] = []
    heading_spans: list[tuple[int, int]] = []
    item_spans: list[tuple[int, int]] = []
    path: list[tuple[int, str]] = []
    blocks, dropped = remove_boilerplate(blocks, scraped=dedupe)
    banner = _site_banner(blocks, page_title)
    blocks, dropped = blocks[banner:], dropped + banner
    title = None
    for block in blocks:
        text = f"{CODE_FENCE}\n{block.text}\n{CODE_FENCE}" if block.kind == "code" else block.text
        if parts:
            offset += 2
        if block.kind == "heading":
            opening = titled and title is None and not parts and (block.level <= 1 or block.text == page_title)
            if opening or (titled and title is None and block.level == 1):
                title = block.text
            path = [(level, words) for level, words in path if level < block.level] + [(block.level, block.text)]
            sections.append((offset, SECTION_SEP.join(words for _, words in path)))
            if opening and len(blocks) > 1:
                continue  # named by the title (see above)
            heading_spans.append((offset, offset + len(text)))
        elif block.kind == "code":
            code_spans.append((offset, offset + len(text)))
        elif block.kind == "item":
            item_spans.append((offset, offset + len(text)))
        parts.append(text)
        offset += len(text)
    return Assembled("\n\n".join(parts), title, sections, code_spans, heading_spans, dropped, item_spans)


def _site_banner(blocks: list[Block], page_title: str | None) -> int:
    """How many headings above the page's own title heading are the site's banner.

    Node.js's API pages open with `<h1>Node.js v20 documentation</h1>` and then `<h2>Domain</h2>`, the
    page's `<title>`: the banner would name every page alike (their titles, and the top of every section
    path). Only headings with no prose between them and the heading that repeats the page title count.
    """
    if not page_title:
        return 0
    wanted = " ".join(page_title.split()).casefold()
    for index, block in enumerate(blocks):
        if block.kind != "heading":
            return 0
        if " ".join(block.text.split()).casefold() == wanted:
            return index
    return 0


def load_manifest(root: Path) -> dict[str, dict]:
    """Optional `manifest.json` in a folder: {"file name": {"title", "publisher", "url", "date"}}."""
    path = root / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(f"{path}: not valid JSON ({exc})") from exc
    return {item["file"]: item for item in data.get("documents", []) if "file" in item}


def read_bytes(file: Path) -> bytes:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(f"{file.name}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")
        raw = file.read_bytes()
    except PermissionError as exc:
        raise LoadError(f"{file.name}: not readable (permission denied)") from exc
    except OSError as exc:
        raise LoadError(f"{file.name}: not readable ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise LoadError(f"{file.name}: empty file")
    return raw


def clean_text(text: str) -> tuple[str, int]:
    """Drop navigation above the headline, repeated lines and a trailing list of other stories (plain text).

    Returns the cleaned text (paragraphs separated by blank lines) and how many lines were dropped.
    """
    assembled = assemble(text_blocks(text), dedupe=True)
    return assembled.text, assembled.dropped


def _short_title(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= MAX_TITLE_CHARS:
        return title
    return title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _after_entries(assembled: Assembled) -> str:
    """The text from its first block that is not a list entry: a table's row ("Model — Flow.") or a
    bullet opening a page does not name it."""
    start = 0
    for lo, hi in assembled.item_spans:
        if lo != start:
            break
        start = hi + 2  # blocks are joined by a blank line
    return assembled.text[start:]


def derive_title(text: str) -> str:
    """A headline-like first line, else the first sentence, shortened on a word boundary."""
    first = text.split("\n", 1)[0].strip()
    if first.startswith(CODE_FENCE):
        first = next((p for p in text.split("\n\n") if not p.startswith(CODE_FENCE)), "")
        if not first:
            return ""  # only code or tables: the caller names it by its file
    if len(first) <= 120 and not first.endswith((".", "!", "?")):
        return first
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    if len(sentence) <= 100:
        return sentence.rstrip(".")
    return sentence[:100].rsplit(" ", 1)[0] + "…"


def _file_title(file: Path) -> str:
    """ "pump-models" for pump-models.html(.gz): a page with no prose and no title is named by its file."""
    name = file.name[: -len(GZIP_SUFFIX)] if file.name.lower().endswith(GZIP_SUFFIX) else file.name
    for suffix in (RST_SOURCE_SUFFIX, document_suffix(name)):
        if suffix and name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _find_date(text: str) -> str | None:
    match = DATE_RE.search(text[:2000])
    return match.group(0) if match else None
