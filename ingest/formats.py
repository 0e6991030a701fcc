"""File bytes -> structured blocks (headings, prose, code) for every format users have.

HTML is in ingest/htmlpage.py (trafilatura, structure kept). PDF is in ingest/pdf.py (pdfminer.six, chosen by measurement, see README), DOCX with python-docx.
Text is decoded from UTF-8, else the declared charset (HTML), else charset-normalizer's guess.
"""

from __future__ import annotations

import codecs
import io
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}
RST_SUFFIXES = {".rst", ".rest"}  # ingest/rst.py
SUPPORTED = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES | RST_SUFFIXES
GZIP_SUFFIX = ".gz"  # Debian ships documentation as page.html.gz, README.txt.gz: read as the inner type
RST_SOURCE_SUFFIX = ".rst.txt"  # Sphinx copies each page's reST source to _sources/page.rst.txt

PERMALINK_MARKS = "¶\uf0c1#🔗◆"  # Sphinx "¶", font-icon links, "#" anchors that some generators append, doxygen "◆"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.I)
_TERMINAL = (".", "!", "?", ":", ";", "…", '"', "”", "’", "'", ")")


class FormatError(Exception):
    """The file's bytes cannot be turned into text; the message says why."""


@dataclass
class Block:
    kind: Literal["heading", "text", "item", "code"]  # item: a list entry (prose, often without a full stop)
    text: str
    level: int = 0  # heading level (1 = title)


@dataclass
class Extracted:
    blocks: list[Block]
    meta: dict


def document_suffix(name: str) -> str:
    """The type a file is read as: "page.html.gz" -> ".html", "_sources/x.rst.txt" -> ".rst", "a.md" -> ".md"."""
    lowered = name.lower()
    if lowered.endswith(GZIP_SUFFIX):
        lowered = lowered[: -len(GZIP_SUFFIX)]
    if lowered.endswith(RST_SOURCE_SUFFIX):
        return ".rst"
    dot = lowered.rfind(".")
    return lowered[dot:] if dot > 0 else ""


def gunzip(raw: bytes, limit: int) -> bytes:
    """The inner bytes of a gzip file, at most `limit` of them (a small file can unpack to gigabytes)."""
    import gzip
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            inner = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"not a readable gzip file ({exc})") from exc
    if len(inner) > limit:
        raise FormatError(f"unpacks to over the {limit} byte limit")
    return inner


# -- charsets ------------------------------------------------------------------------------------
# UTF-32 first: its little-endian mark starts with UTF-16's
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def unicode_bom(raw: bytes) -> str | None:
    """The codec of a UTF-16/32 byte-order mark ("utf-16"), or None: such text is full of NUL bytes
    (Windows editors and PowerShell's `>` write UTF-16), so it must not be taken for a binary file."""
    return next((codec for bom, codec in _UNICODE_BOMS if raw.startswith(bom)), None)


SNIFF_BYTES = 8192


def looks_binary(raw: bytes) -> bool:
    """NUL bytes in the first bytes, outside UTF-16/32 text (which has a byte-order mark)."""
    return b"\x00" in raw[:SNIFF_BYTES] and unicode_bom(raw) is None


def is_plain_text_file(path: Path) -> bool:
    """A file without an extension that a team keeps as a document (README, NEWS, INSTALL): a regular file
    (a FIFO or device is never opened), not executable (scripts and programs are not documents), and text
    in its first bytes."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode) or mode & 0o111:
            return False
        with path.open("rb") as stream:
            head = stream.read(SNIFF_BYTES)
    except OSError:
        return False
    return bool(head.strip()) and not looks_binary(head)


def decode(raw: bytes, declared: str | None = None) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 with a BOM, else the declared charset, else
    charset-normalizer's best guess."""
    bom = unicode_bom(raw)
    if bom:
        try:
            return raw.decode(bom)
        except UnicodeDecodeError as exc:
            raise FormatError(f"not valid {bom.upper()} text ({exc.reason} at byte {exc.start})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return raw.decode(_charset_alias(declared))
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise FormatError("not text in any known character set")
    return str(best)


def _charset_alias(name: str) -> str:
    # browsers read iso-8859-1 and ascii as windows-1252 (WHATWG Encoding), which is a superset
    lowered = name.strip().lower()
    return "cp1252" if lowered in {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"} else lowered


def declared_charset(raw: bytes) -> str | None:
    head = raw[:4096]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def add_block(blocks: list[Block], kind: str, text: str, level: int = 0) -> None:
    if text.strip():
        blocks.append(Block(kind, text if kind == "code" else text.strip(), level))  # type: ignore[arg-type]


def strip_permalinks(text: str) -> str:
    return text.strip().rstrip(PERMALINK_MARKS).strip()


# -- plain text (Markdown: ingest/markdown.py) ---------------------------------------------------------
def text_blocks(text: str, width: int | None = None) -> list[Block]:
    """Paragraphs of a .txt file: blank-line separated; hard-wrapped lines joined within a paragraph.

    Files that put one paragraph on each line (scraped articles) keep every line as a paragraph.
    `width`: the wrap width of the whole file, when `text` is a part of it (ingest/plaintext.py).
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    width = wrap_width(lines) if width is None else width
    blocks: list[Block] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(Block("text", " ".join(" ".join(current).split())))
            current.clear()

    for line in lines:
        if not line:
            flush()
            continue
        if current and (not width or _starts_item(line)):
            flush()
        current.append(line)
        if width and len(line) < width * 0.6 and line.endswith(_TERMINAL):
            flush()  # a short line that ends a sentence ends its paragraph
    flush()
    return blocks


def wrap_width(lines: list[str]) -> int:
    """The wrap width when the text is hard-wrapped (lines cut at a fixed width), else 0.

    Wrapped: at least three lines run on into a next line, and most of them are near one width of
    at most 100 characters. One paragraph per line (scraped articles) has long, uneven lines.
    """
    continued = sorted(
        len(line)
        for line, nxt in zip(lines, lines[1:])
        if line and nxt and not _starts_item(line) and not _starts_item(nxt)
    )
    if len(continued) < 3:
        return 0
    width = continued[int(len(continued) * 0.9) - 1 if len(continued) >= 10 else -1]
    if not 40 <= width <= 100:  # editors wrap at 60-80 columns; short lines are headlines and labels
        return 0
    near = sum(1 for n in continued if n >= 0.6 * width)
    return width if near / len(continued) >= 0.5 else 0


def _starts_item(line: str) -> bool:
    return bool(re.match(r"^([-*+•]|\d+[.)])\s+", line))


# -- DOCX (PDF: ingest/pdf.py) ---------------------------------------------------------------------------------
def extract_docx(raw: bytes) -> Extracted:
    import zipfile

    from docx import Document as DocxDocument

    try:
        document = DocxDocument(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FormatError(f"not a readable DOCX ({exc})") from exc
    blocks: list[Block] = []
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        text = " ".join(para.text.split())
        if not text:
            continue
        level = _docx_heading_level(style)
        add_block(blocks, "heading" if level else "text", text, level)
    for table in document.tables:
        rows = [" | ".join(" ".join(c.text.split()) for c in row.cells) for row in table.rows]
        add_block(blocks, "code", "\n".join(r for r in rows if r.strip(" |")))
    props = document.core_properties
    return Extracted(blocks, {"title": props.title or None, "publisher": props.author or None})


def _docx_heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.match(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


def ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(_TERMINAL)
