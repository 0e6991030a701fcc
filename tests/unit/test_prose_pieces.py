"""A sentence the splitter joined across a heading, code block or list entry is cut back to its prose."""

from __future__ import annotations

from pathlib import Path

from ingest.chunking import chunk_blocks, prose_pieces
from ingest.loaders import load_bytes
from rag.text import split_sentences


def _sentences(markdown: str) -> list[str]:
    doc = load_bytes(markdown.encode(), Path("/d/page.md"), Path("/d"))
    blocks = chunk_blocks(doc, 0, len(doc.text))
    return [doc.text[a:b] for lo, hi in split_sentences(doc.text) for a, b in prose_pieces(doc.text, lo, hi, blocks)]


def test_the_first_sentence_under_a_heading_is_kept_without_the_heading() -> None:
    sentences = _sentences("# Tool\n\nIntro text here.\n\n## NOTES\n\ngit gc tries very hard not to delete objects.\n")
    assert "git gc tries very hard not to delete objects." in sentences
    assert not any("NOTES" in s for s in sentences)


def test_list_entries_are_sentences_of_their_own() -> None:
    sentences = _sentences(
        "# Events\n\nThe listener is called with:\n\n* eventName {string} The name of the event\n"
        "* listener {Function} The event handler function\n"
    )
    assert "eventName {string} The name of the event" in sentences
    assert "listener {Function} The event handler function" in sentences


def test_prose_after_a_code_block_is_kept_and_short_remnants_are_not() -> None:
    sentences = _sentences(
        "# Backup\n\nRun this:\n\n```\npg_dump dbname > dumpfile\n```\n\nwhere dumpfile is the file output by pg_dump.\n\n"
        "Use\n\n```\nx\n```\n\ninstead.\n"
    )
    assert "where dumpfile is the file output by pg_dump." in sentences
    assert "instead." not in sentences and not any("```" in s for s in sentences)
