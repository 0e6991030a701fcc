"""Markdown -> structured blocks, parsed by markdown-it-py (CommonMark + GFM tables).

A real parser, not line regexes: reference-style links (`[text][ref]`, `[text][]`) keep their text and
their definitions are not indexed, HTML comments and tags are not text (`<!-- added: v1 -->`),
setext headings, nested lists and indented code are read as the renderer reads them.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from ingest.formats import Block, Extracted, add_block, strip_permalinks
from ingest.tables import cell_rows_sentences

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# YAML front matter (Jekyll, Hugo, MkDocs): not shown by renderers, but its title names the page.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.M)
_UNRESOLVED_REFERENCE = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")  # `[text][ref]` with no definition
_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def markdown_blocks(text: str) -> Extracted:
    """Headings, code kept verbatim, paragraphs, list entries as items, tables as code rows."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    front_title, text = _front_matter(text)
    blocks: list[Block] = []
    tokens = _parser().parse(text)
    items = 0  # depth of list items around the current token
    heading_level = 0
    in_cell = header_row = False
    row: list[str] = []
    rows: list[tuple[list[str], bool]] = []  # cells, and whether the row is the table's head
    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            items += 1
        elif kind == "list_item_close":
            items -= 1
        elif kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind == "heading_close":
            heading_level = 0
        elif kind in ("th_open", "td_open"):
            in_cell, header_row = True, kind == "th_open"
            row.append("")  # an empty cell has no inline token: keep the columns aligned
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "inline" and in_cell:
            row[-1] = inline_text(token)
        elif kind == "inline":
            kind_of_text = "heading" if heading_level else "item" if items else "text"
            words = inline_text(token)
            add_block(blocks, kind_of_text, strip_permalinks(words) if heading_level else words, heading_level)
        elif kind in ("fence", "code_block"):
            add_block(blocks, "code", token.content.rstrip("\n"))
        elif kind == "html_block":
            add_block(blocks, "item" if items else "text", _html_text(token.content))
        elif kind == "tr_close":
            rows.append((row, header_row))
            row = []
        elif kind == "table_close":
            _add_table(blocks, rows)
            rows = []
    title = front_title or next((b.text for b in blocks if b.kind == "heading"), None)
    return Extracted(blocks, {"title": title})


def _add_table(blocks: list[Block], rows: list[tuple[list[str], bool]]) -> None:
    """A data table's rows as sentences labelled by its headers (ingest/tables.py), one list entry each;
    a layout table (one row or one column) as its rows in one code block, as DOCX tables are."""
    entries = cell_rows_sentences(rows)
    for entry in entries:
        add_block(blocks, "item", entry)
    if not entries:
        add_block(blocks, "code", "\n".join(" | ".join(c for c in cells if c) for cells, _ in rows if any(cells)))


def inline_text(token: Token) -> str:
    """What a reader sees of an inline run: text and code spans, link and image text, no markup."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)  # the alt text
        # html_inline (tags, comments), link and emphasis markers carry no words of their own
    return " ".join(_UNRESOLVED_REFERENCE.sub(r"\1", "".join(out)).split())


def _html_text(raw: str) -> str:
    """Raw HTML in Markdown: comments are invisible; other blocks keep their words."""
    without_comments = re.sub(r"<!--.*?(-->|\Z)", " ", raw, flags=re.S)
    return " ".join(html.unescape(_TAG.sub(" ", without_comments)).split())


def _front_matter(text: str) -> tuple[str | None, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text
    title = _FRONT_TITLE.search(match.group(1))
    name = title.group(1).strip("\"'") if title else None
    return name or None, text[match.end() :]
