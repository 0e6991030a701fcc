"""XHTML/DocBook pages (PostgreSQL, Debian and git manuals), hand-made bytes in their real shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import Chunker, node_text
from ingest.loaders import load_bytes
from rag.embedding import MiniLMEmbedder

FILLER = "This paragraph explains the subject at some length so that the extractor keeps it as main text."

PAGE = f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>26.1. Dumping</title></head><body>
<div class="navheader"><a href="prev.html">Prev</a> <a href="next.html">Next</a></div>
<div class="sect1"><div class="titlepage"><h2 class="title">26.1. Dumping</h2></div>
<p>{FILLER} {FILLER}</p>
<p>You can dump parts of the database using options such as
   <code class="option">-n <em class="replaceable"><code>schema</code></em></code>
   or <code class="option">-t <em class="replaceable"><code>table</code></em></code>.</p>
<p><code class="command">dumptool</code> writes its result to the standard output by default.</p>
<div class="note"><h3 class="title">Note</h3><p>The dumps are relative to the first template.</p></div>
<div class="sect2"><div class="titlepage"><h3 class="title">26.1.1. Restoring</h3></div>
<p>{FILLER}</p><p>Restoring reads the dump back in with the client program.</p></div>
</div></body></html>""".encode()


def _load(raw: bytes = PAGE):
    return load_bytes(raw, Path("/docs/backup.html"), Path("/docs"))


def test_an_xml_declaration_keeps_the_pages_sections() -> None:
    doc = _load()
    assert [path for _, path in doc.sections] == ["26.1. Dumping", "26.1. Dumping > 26.1.1. Restoring"]
    assert doc.section_at(doc.text.index("Restoring reads")) == "26.1. Dumping > 26.1.1. Restoring"


def test_the_opening_title_heading_is_not_repeated_in_the_text() -> None:
    doc = _load()
    assert doc.title == "26.1. Dumping"
    assert "26.1. Dumping" not in doc.text
    assert doc.text.startswith("This paragraph explains")


def test_an_admonition_heading_leads_its_paragraph() -> None:
    doc = _load()
    assert "Note: The dumps are relative to the first template." in doc.text
    assert all(not path.endswith("Note") for _, path in doc.sections)


def test_nested_inline_code_stays_in_place() -> None:
    assert "using options such as -n schema or -t table." in _load().text


def test_a_paragraph_that_opens_with_inline_code_is_kept() -> None:
    assert "dumptool writes its result to the standard output by default." in _load().text


def test_without_a_declaration_the_same_text() -> None:
    plain = PAGE.split(b"?>", 1)[1]
    assert _load(plain).text == _load().text


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    embedder = MiniLMEmbedder()
    return Chunker(lambda: embedder)


def test_a_long_sentence_is_never_cut_inside_a_file_name_or_url(chunker) -> None:
    names = ", ".join(f"MEDIA/SUBTYPE{i}.xml or https://example.org/docs/page{i}.html" for i in range(120))
    doc = load_bytes(f"The files are {names} in order.\n".encode(), Path("/d/files.txt"), Path("/d"))
    nodes = chunker.chunk(doc)
    assert len(nodes) > 2  # one sentence over several chunks: cut where a space follows
    words = set(doc.text.split())
    for node in nodes:
        assert set(node_text(node).split()) <= words  # every piece is a whole name or URL


def test_a_citation_shows_the_heading_its_quote_stands_under(chunker) -> None:
    from rag.citations import verify
    from rag.passages import Draft, Passage

    text = "# Backups\n\nDumps are plain SQL files.\n\n## Restoring\n\nA dump is restored with the psql client.\n"
    doc = load_bytes(text.encode(), Path("/d/backups.md"), Path("/d"))
    (node,) = chunker.chunk(doc)  # one chunk over two sections
    assert node.metadata["section"] == "Backups"
    passage = Passage(1, node.node_id, doc.doc_id, doc.source, doc.title, node_text(node), 1.0, dict(node.metadata))
    quotes = {1: ["A dump is restored with the psql client.", "Dumps are plain SQL files."]}
    draft = Draft(text="It is restored with psql [1]. Dumps are SQL files [1].", quotes=quotes)
    sections = {c.quote: c.section for c in verify(draft, [passage]).citations}
    assert sections == {
        "A dump is restored with the psql client.": "Backups > Restoring",
        "Dumps are plain SQL files.": "Backups",
    }
