"""HTML data tables -> one list entry per row, worded as a sentence labelled by the table's headers.

A table stored as `cell | cell` rows was code: never split into sentences, so never answered from or
cited, and a value lost the column that says what it is ("4 bytes" without "Storage Size"). Each data
row becomes "Name date — Storage Size: 4 bytes; Description: date (no time of day); Resolution: 1 day.",
led by its first cell (what the row is about) and that column's header. Layout tables (one column, one row: an admonition box,
a navigation bar) are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.formats import strip_permalinks

KEY_SEPARATOR = " — "
MAX_KEY_LABEL_WORDS = 4  # a longer first-column header ("Example Typenames From The ...") does not lead
MIN_DATA_ROWS = 2  # one row under its headers is a layout box ("Note" | text), not data
_ROWS = "./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"
_CELLS = "./td | ./th"


@dataclass
class _Row:
    parts: list[str]
    header: bool
    stacked: bool = False  # the parts are the paragraphs of one cell, not cells


def rewrite_data_tables(doc) -> None:
    """Swap every data table of the page for a list of its rows as sentences (innermost tables only:
    a table holding tables is a layout grid; one holding a code block keeps its code verbatim)."""
    for table in doc.xpath("//table[not(.//table)][not(.//pre)]"):
        entries = row_sentences(_rows(table))
        if entries:
            _replace(table, entries)


def row_sentences(rows: list[_Row]) -> list[str]:
    """The data rows as sentences, or none when the table is a layout table."""
    rows = _without_empty_columns([row for row in rows if any(row.parts)])
    data = [row for row in rows if not row.header]
    if len(data) < MIN_DATA_ROWS or max(len(row.parts) for row in data) < 2:
        return []
    head = next((row for row in reversed(rows[: rows.index(data[0])]) if row.header), None)
    return [_sentence(row, head) for row in data]


def cell_rows_sentences(rows: list[tuple[list[str], bool]]) -> list[str]:
    """Rows of cells parsed elsewhere (a Markdown pipe table: (cells, is header row)) as sentences, or
    none for a layout table, as an HTML table's rows are."""
    return row_sentences([_Row(cells, header) for cells, header in rows])


def _sentence(row: _Row, head: _Row | None) -> str:
    """ "Name key — Header: value; Header: value." A cell of paragraphs is labelled only when they are as
    many as the header's. The key is led by its column's (short) header, capitalised as a sentence opens:
    "Package whois — ..." names the kind of thing the row is about, which "which package ..." asks for."""
    aligned = head is not None and (not row.stacked or len(row.parts) == len(head.parts))
    labels = head.parts if aligned and head is not None else [""] * len(row.parts)
    filled = [(label, part) for label, part in zip(labels, row.parts) if part]
    (key_label, key), rest = filled[0], filled[1:]
    if key_label and key_label != key and len(key_label.split()) <= MAX_KEY_LABEL_WORDS:
        key = f"{key_label[:1].upper()}{key_label[1:]} {key}"
    values = "; ".join(f"{label}: {part}" if label and label != part else part for label, part in rest)
    text = f"{key}{KEY_SEPARATOR}{values}" if values else key
    return text if text[-1:] in ".!?" else text + "."


def _rows(table) -> list[_Row]:
    rows = []
    below: dict[int, tuple[int, str]] = {}  # column -> (rows still covered, text) of a cell above (rowspan)
    for index, tr in enumerate(table.xpath(_ROWS)):
        cells = tr.xpath(_CELLS)
        if not cells:
            continue
        if len(cells) == 1 and not below:
            parts = _stacked_parts(cells[0])
            rows.append(_Row(parts, _is_header(tr, cells, index), stacked=len(parts) > 1))
            continue
        rows.append(_Row(_placed(cells, below), _is_header(tr, cells, index)))
    return rows


def _placed(cells, below: dict[int, tuple[int, str]]) -> list[str]:
    """The row's parts by column: a cell spanning n columns fills the first and leaves the others empty;
    a cell spanning rows stands in each of them (the key of several rows), so the headers stay aligned."""
    parts: list[str] = []

    def fill_covered() -> None:
        while len(parts) in below:
            left, text = below.pop(len(parts))
            if left > 1:
                below[len(parts)] = (left - 1, text)
            parts.append(text)

    for cell in cells:
        fill_covered()
        rowspan = _span(cell, "rowspan")
        for column in range(_span(cell, "colspan")):
            if rowspan > 1:
                below[len(parts)] = (rowspan - 1, "" if column else _text(cell))
            parts.append("" if column else _text(cell))
    fill_covered()
    return parts


def _span(cell, attribute: str) -> int:
    try:
        return max(1, min(int(cell.get(attribute) or 1), 50))
    except ValueError:
        return 1


def _stacked_parts(cell) -> list[str]:
    """A one-column table's cell made of paragraphs (PostgreSQL's function tables: signature,
    description, example) holds one part per paragraph; else the cell is one part."""
    paragraphs = [_text(p) for p in cell if p.tag == "p"]
    if len(paragraphs) >= 2 and not (cell.text or "").strip():
        return [p for p in paragraphs if p]
    return [_text(cell)]


def _is_header(tr, cells, index: int) -> bool:
    """A row of the table's head, of header cells only, or a first row all in bold (SQLite's pages)."""
    if tr.getparent().tag == "thead" or all(cell.tag == "th" for cell in cells):
        return True
    if index or len(cells) < 2:
        return False
    filled = [cell for cell in cells if _text(cell)]
    return bool(filled) and all(_text(cell) == _bold_text(cell) for cell in filled)


def _bold_text(cell) -> str:
    return " ".join(" ".join(b.text_content().split()) for b in cell.xpath(".//b | .//strong"))


def _without_empty_columns(rows: list[_Row]) -> list[_Row]:
    """Spacer columns (empty in every row, SQLite's `<td width="10">`) are dropped."""
    width = max((len(row.parts) for row in rows), default=0)
    padded = [row.parts + [""] * (width - len(row.parts)) for row in rows]
    kept = [col for col in range(width) if any(parts[col] for parts in padded)]
    return [
        _Row([parts[col] for col in kept] if not row.stacked else row.parts, row.header, row.stacked)
        for parts, row in zip(padded, rows)
    ]


def _replace(table, entries: list[str]) -> None:
    import lxml.html

    listing = lxml.html.Element("ul")
    for entry in entries:
        item = lxml.html.Element("li")
        item.text = entry
        listing.append(item)
    listing.tail = table.tail
    table.getparent().replace(table, listing)
    for quote in listing.iterancestors("blockquote"):
        quote.tag = "div"  # trafilatura runs a list inside a quote into one paragraph


def _text(element) -> str:
    return strip_permalinks(" ".join(element.text_content().split()))


def layout_text(rows: list[list[str]]) -> str | None:
    """A layout table's rows (trafilatura's cells) as one paragraph, or None for a data table.

    One row ("Note" | its text), or one filled cell per row (DocBook's admonition box: an icon cell,
    "Tip", then the text below it) is a box, not data: "Tip: You can enable ..."."""
    filled = [[cell for cell in row if cell] for row in rows]
    filled = [row for row in filled if row]
    if not filled or (len(filled) > 1 and any(len(row) > 1 for row in filled)):
        return None
    return ": ".join(cell for row in filled for cell in row)
