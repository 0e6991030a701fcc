"""PDF bytes -> paragraphs (pdfminer.six), with the page layout taken out.

What a page's layout adds to the text and what is dropped, by shape, not by words:
- running headers and footers: a short paragraph that repeats (digits aside) on at least half of
  the pages, and at least on MIN_RUNNING_PAGES pages;
- page numbers: a paragraph that is only a number ("12", "12 / 40", "xii");
- table-of-contents pages: most lines end in a dot leader and a page number;
- glyph junk: unmapped glyphs ("(cid:12)"), private-use and control characters; ligatures are
  spelled out ("ﬁ" -> "fi");
- words hyphenated across a line end are joined; a paragraph running across a page break is joined.
"""

from __future__ import annotations

import re
import unicodedata

from ingest.formats import Block, Extracted, FormatError, ends_sentence

MIN_RUNNING_PAGES = 3
MAX_RUNNING_WORDS = 12
MIN_TOC_LINES = 5
_CID = re.compile(r"\(cid:\d+\)")
_PAGE_NUMBER = re.compile(r"^(\d{1,4}(\s*/\s*\d{1,4})?|[ivxlcdm]{1,7})$", re.I)
_TOC_LINE = re.compile(r"(\.\s?){3,}\s*\d{1,4}$|\s\d{1,4}$")
_DOT_LEADER = re.compile(r"(\.\s?){3,}\s*\d{1,4}$")
_LIGATURES = re.compile("[\ufb00-\ufb06]")


def extract_pdf(raw: bytes) -> Extracted:
    import io

    try:
        from pdfminer.high_level import extract_text
        from pdfminer.pdfparser import PDFSyntaxError
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise FormatError("PDF support needs pdfminer.six: pip install pdfminer.six") from exc
    try:
        text = extract_text(io.BytesIO(raw))
    except PDFSyntaxError as exc:
        raise FormatError(f"not a readable PDF ({exc})") from exc
    except Exception as exc:  # pdfminer raises many kinds on broken files
        raise FormatError(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    pages = [_paragraphs(page) for page in clean_glyphs(text).split("\f") if not is_toc_page(page)]
    running = running_lines(pages)
    blocks: list[Block] = []
    for page in pages:
        for para in page:
            if _shape(para) in running or _PAGE_NUMBER.match(para):
                continue
            # a paragraph that runs on across a column or page break: the next part starts in lower case
            if blocks and not ends_sentence(blocks[-1].text) and para[:1].islower():
                blocks[-1] = Block("text", f"{blocks[-1].text} {para}")
            else:
                blocks.append(Block("text", para))
    if not blocks:
        raise FormatError("the PDF holds no extractable text (a scan needs OCR first)")
    return Extracted(blocks, {})


def clean_glyphs(text: str) -> str:
    text = _CID.sub("", text)
    text = _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    return "".join(c for c in text if c in "\n\f\t" or unicodedata.category(c) not in {"Co", "Cc", "Cs"})


def is_toc_page(page: str) -> bool:
    """Most lines end in a page number, many after a dot leader: a table of contents, not text."""
    lines = [line.strip() for line in page.split("\n") if line.strip()]
    if len(lines) < MIN_TOC_LINES:
        return False
    numbered = sum(1 for line in lines if _TOC_LINE.search(line))
    leaders = sum(1 for line in lines if _DOT_LEADER.search(line))
    return numbered >= 0.6 * len(lines) and leaders >= 0.3 * len(lines)


def running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of short paragraphs found on at least half of the pages: running headers and footers."""
    if len(pages) < MIN_RUNNING_PAGES:
        return set()
    counts: dict[str, int] = {}
    for page in pages:
        for shape in {_shape(p) for p in page if len(p.split()) <= MAX_RUNNING_WORDS}:
            counts[shape] = counts.get(shape, 0) + 1
    need = max(MIN_RUNNING_PAGES, len(pages) / 2)
    return {shape for shape, n in counts.items() if n >= need}


def _shape(para: str) -> str:
    return re.sub(r"\d+", "#", " ".join(para.split()).lower())


def _paragraphs(page: str) -> list[str]:
    """pdfminer separates paragraphs with blank lines; lines inside one are wrapped and are joined."""
    out = []
    for para in re.split(r"\n\s*\n", page):
        lines = [line.strip() for line in para.split("\n") if line.strip()]
        if not lines:
            continue
        text = lines[0]
        for line in lines[1:]:
            text = text[:-1] + line if text.endswith("-") and line[:1].islower() else f"{text} {line}"
        out.append(" ".join(text.split()))
    return out
