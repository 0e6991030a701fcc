"""PDF layout taken out of the text (ingest/pdf.py), on PDFs written by tests/support/pdf.py."""

from __future__ import annotations

from ingest.pdf import extract_pdf
from tests.support.pdf import make_pdf

HEADER = "Widget Manual - Chapter 2"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


def _page(number: int, *paragraphs: list[str]) -> list[str]:
    lines = [HEADER, ""]
    for para in paragraphs:
        lines += para + [""]
    return lines + [str(number)]


def _texts(pages: list[list[str]]) -> list[str]:
    return [block.text for block in extract_pdf(make_pdf(pages)).blocks]


def test_running_headers_and_page_numbers_are_dropped() -> None:
    pages = [_page(n, [f"The {WORDS[n]} paragraph says something complete."]) for n in range(1, 5)]
    assert _texts(pages) == [f"The {WORDS[n]} paragraph says something complete." for n in range(1, 5)]


def test_a_line_repeated_on_few_pages_is_the_authors_and_stays() -> None:
    pages = [_page(1, ["Configure it first."], ["Note well."]), _page(2, ["Note well."]), _page(3, ["More text."])]
    pages += [_page(n, [f"Text {WORDS[n]}."]) for n in range(4, 9)]
    assert _texts(pages).count("Note well.") == 2


def test_a_word_hyphenated_across_a_line_end_is_joined() -> None:
    pages = [_page(1, ["The daemon reads its config-", "uration file at start."])]
    assert _texts(pages) == [HEADER, "The daemon reads its configuration file at start."]


def test_a_paragraph_running_over_a_page_break_is_joined() -> None:
    pages = [_page(1, ["The cache is written"]), _page(2, ["when the process exits."]), _page(3, ["Done."])]
    assert _texts(pages) == ["The cache is written when the process exits.", "Done."]


def test_a_table_of_contents_page_is_dropped() -> None:
    toc = ["Contents", ""] + [f"{n}. Section number {n} ........ {n * 3}" for n in range(1, 9)]
    pages = [toc] + [_page(n, [f"Body text {WORDS[n]}."]) for n in range(1, 4)]
    assert _texts(pages) == [f"Body text {WORDS[n]}." for n in range(1, 4)]


def test_unmapped_glyphs_and_ligatures_are_cleaned() -> None:
    from ingest.pdf import clean_glyphs

    assert clean_glyphs("the \ufb01le (cid:3)is \ue000here\x07") == "the file is here"
