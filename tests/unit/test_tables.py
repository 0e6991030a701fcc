"""HTML data tables become one sentence per row, labelled by their headers (hand-made pages)."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import load_bytes

FILLER = "This paragraph explains the subject at some length so that the extractor keeps it as main text."


def _page(body: str) -> bytes:
    return f"""<html><head><title>Types</title></head><body><main><h1>Types</h1><p>{FILLER} {FILLER}</p>
{body}<p>{FILLER}</p></main></body></html>""".encode()


def _load(body: str):
    return load_bytes(_page(body), Path("/docs/types.html"), Path("/docs"))


TYPES = """<table><thead><tr><th>Name</th><th>Storage Size</th><th>Description</th></tr></thead>
<tbody><tr><td>date</td><td>4 bytes</td><td>date (no time of day)</td></tr>
<tr><td>interval</td><td>16 bytes</td><td>time interval</td></tr></tbody></table>"""


def test_a_row_is_a_sentence_led_by_its_first_cell_and_labelled_by_the_headers() -> None:
    doc = _load(TYPES)
    assert "Name date — Storage Size: 4 bytes; Description: date (no time of day)." in doc.text
    assert "Name interval — Storage Size: 16 bytes; Description: time interval." in doc.text
    assert not doc.code_spans  # prose: split into sentences, answered from and cited
    assert len(doc.item_spans) == 2  # one entry per row, never run into the next row


def test_the_key_is_led_by_its_header_and_an_empty_cell_is_left_out() -> None:
    body = """<table><tr><th>level</th><th>name</th><th>note</th></tr>
<tr><td>3</td><td>KERN_ERR</td><td></td></tr><tr><td>4</td><td>KERN_WARNING</td><td>warning conditions</td></tr></table>"""
    text = _load(body).text
    assert "Level 3 — name: KERN_ERR." in text
    assert "Level 4 — name: KERN_WARNING; note: warning conditions." in text


def test_spacer_columns_and_a_bold_first_row_inside_a_quote() -> None:
    body = """<blockquote><table><tr><td><b>Function</b></td><td width="30"></td><td><b>Equivalent</b></td></tr>
<tr><td>date(...)</td><td></td><td>strftime('%Y-%m-%d', ...)</td></tr>
<tr><td>time(...)</td><td></td><td>strftime('%H:%M:%S', ...)</td></tr></table></blockquote>"""
    doc = _load(body)
    assert "Function time(...) — Equivalent: strftime('%H:%M:%S', ...)." in doc.text
    assert len(doc.item_spans) == 2  # the quote did not run the rows into one paragraph


def test_a_table_without_headers_joins_its_cells() -> None:
    body = (
        "<table><tr><td>%d</td><td>day of month: 00</td></tr><tr><td>%j</td><td>day of year: 001-366</td></tr></table>"
    )
    assert "%j — day of year: 001-366." in _load(body).text


def test_a_one_column_table_of_stacked_paragraphs_labels_them_when_they_line_up() -> None:
    body = """<table><thead><tr><th><p>Function</p><p>Description</p><p>Example(s)</p></th></tr></thead><tbody>
<tr><td><p>cbrt ( double precision ) → double precision</p><p>Cube root</p><p>cbrt(64.0) → 4</p></td></tr>
<tr><td><p>ceil ( numeric ) → numeric</p><p>ceil ( double precision ) → double precision</p>
<p>Nearest integer greater than or equal to argument</p><p>ceil(42.2) → 43</p></td></tr></tbody></table>"""
    text = _load(body).text
    assert (
        "Function cbrt ( double precision ) → double precision — Description: Cube root; Example(s): cbrt(64.0) → 4."
        in text
    )
    assert "ceil ( numeric ) → numeric — ceil ( double precision ) → double precision; Nearest integer" in text


def test_layout_tables_stay_as_they_were() -> None:
    one_row = "<table><tr><td>Note</td><td>The dumps are relative to the first template.</td></tr></table>"
    assert "Note: The dumps are relative to the first template." in _load(one_row).text
    one_column = "<table><tr><td>First entry of a column.</td></tr><tr><td>Second entry of a column.</td></tr></table>"
    assert "—" not in _load(one_column).text


def test_a_long_first_header_does_not_lead() -> None:
    body = """<table><tr><th>Example type names of the statement</th><th>Affinity</th></tr>
<tr><td>VARCHAR(255)</td><td>TEXT</td></tr><tr><td>DOUBLE</td><td>REAL</td></tr></table>"""
    assert "\n\nVARCHAR(255) — Affinity: TEXT." in _load(body).text


def test_a_colspan_keeps_the_headers_aligned() -> None:
    body = """<table><tr><th>item</th><th>limit</th><th>comment</th></tr>
<tr><td colspan="2">field size</td><td>see below</td></tr><tr><td>columns</td><td>1,600</td><td></td></tr></table>"""
    text = _load(body).text
    assert "Item field size — comment: see below." in text
    assert "Item columns — limit: 1,600." in text


def test_a_cell_spanning_rows_stands_in_each_and_equal_cells_stay() -> None:
    body = """<table><tr><th>item</th><th>first</th><th>second</th></tr>
<tr><td rowspan="2">union</td><td>Yes</td><td>Yes</td></tr><tr><td>No</td><td>Yes</td></tr></table>"""
    text = _load(body).text
    assert "Item union — first: Yes; second: Yes." in text
    assert "Item union — first: No; second: Yes." in text


def test_a_docbook_admonition_box_is_a_led_paragraph_not_a_table() -> None:
    body = """<div class="tip"><table border="0" summary="Tip"><tr><td rowspan="2"><img alt="[Tip]" src="tip.png"/></td>
<th align="left">Tip</th></tr><tr><td><p>You can customize the splash image in the boot loader's settings.</p></td></tr>
</table></div>"""
    doc = _load(body)
    assert "Tip: You can customize the splash image in the boot loader's settings." in doc.text
    assert not doc.code_spans
