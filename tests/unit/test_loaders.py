"""ingest.loaders: real files in tmp dirs -> clean article text, titles, metadata, and clear LoadErrors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.loaders import LoadError, clean_text, doc_id_for, load_file, load_manifest

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_004 = SEEDS / "004_c94a7dcda8e47815.txt"

ARTICLE = (
    "A car bomb exploded near the airport of the port city on Sunday evening, killing two engineers "
    "who were travelling in a convoy, officials said.\n\n"
    "The engineers had returned from a holiday abroad and were on their way back to the power plant "
    "where they worked, according to the police.\n\n"
    "Investigators believe the attackers had inside help, a senior official said on Monday, adding "
    "that several suspects had been detained for questioning."
)


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- formats ------------------------------------------------------------------------------------
def test_txt_is_read_with_derived_title_and_stable_id(tmp_path: Path) -> None:
    _write(tmp_path / "blast.txt", "Port city blast kills two\n\n" + ARTICLE)
    doc = load_file(tmp_path / "blast.txt", tmp_path)
    assert doc.title == "Port city blast kills two"
    assert doc.source == "blast.txt"
    assert doc.doc_id == doc_id_for(str((tmp_path / "blast.txt").resolve()))  # identity: the resolved path
    assert "killing two engineers" in doc.text
    assert "several suspects had been detained" in doc.text
    assert len(doc.content_hash) == 64


def test_doc_id_depends_on_path_not_content(tmp_path: Path) -> None:
    a = load_file(_write(tmp_path / "a.txt", ARTICLE), tmp_path)
    _write(tmp_path / "a.txt", ARTICLE + "\n\nA new paragraph was added later by the editors.")
    b = load_file(tmp_path / "a.txt", tmp_path)
    c = load_file(_write(tmp_path / "sub" / "a.txt", ARTICLE), tmp_path)
    assert a.doc_id == b.doc_id and a.content_hash != b.content_hash
    assert c.source == "sub/a.txt" and c.doc_id != a.doc_id


def test_markdown_syntax_is_stripped_and_heading_is_the_title(tmp_path: Path) -> None:
    md = (
        "# Engineers killed in **port city** blast\n\n"
        "A [car bomb](https://example.com/bomb) exploded near the airport, killing two engineers.\n\n"
        "- Police said the attackers had `inside help`.\n"
        "> The official said more arrests were expected.\n"
    )
    doc = load_file(_write(tmp_path / "story.md", md), tmp_path)
    assert doc.title == "Engineers killed in port city blast"
    assert "A car bomb exploded near the airport" in doc.text
    assert "https://example.com" not in doc.text
    for syntax in ("**", "`", "# ", "](", "> ", "- Police"):
        assert syntax not in doc.text, syntax
    assert "Police said the attackers had inside help." in doc.text


HTML = """<!doctype html>
<html><head><title>Port city blast kills two | Example News</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World news section</a></li>
<li><a href="/sport">Sport and leisure pages</a></li></ul></nav>
<article><h1>Port city blast kills two</h1>
{paragraphs}
</article>
<footer><p>Copyright 2024 Example News. All rights reserved. Privacy policy and cookie settings.</p></footer>
</body></html>"""


def test_html_main_text_extraction_drops_nav_and_footer(tmp_path: Path) -> None:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in ARTICLE.split("\n\n"))
    doc = load_file(_write(tmp_path / "page.html", HTML.format(paragraphs=paragraphs)), tmp_path)
    assert doc.title == "Port city blast kills two"
    assert "killing two engineers" in doc.text
    assert "several suspects had been detained for questioning" in doc.text
    for chrome in ("World news section", "Sport and leisure", "Copyright", "Privacy policy", "<p>", "</"):
        assert chrome not in doc.text, chrome


# -- boilerplate on a real scraped seed ---------------------------------------------------------
def test_seed_004_boilerplate_and_more_for_you_block_are_dropped() -> None:
    raw = SEED_004.read_text(encoding="utf-8")
    assert "Keighley" in raw and "Skip to content" in raw  # the test is meaningful only if they were there
    doc = load_file(SEED_004, SEEDS)
    for junk in (
        "Skip to content",
        "Search AI Powered",
        "Latest Stories",
        "Keep ReadingShow less",
        "More For You",
        "Keighley",
        "Strangers' Bar",
        "digital driving licences",
        "Leeds",
    ):
        assert junk not in doc.text, junk
    # the article itself, up to the block, is kept
    assert "Special Protection Unit" in doc.text
    assert doc.text.rstrip().endswith("the Pakistani officials said. (Reuters)")
    assert "killed two Chinese engineers" in doc.text
    assert doc.title == "China urges joint security plan with Pakistan amid growing threats to its citizens"
    assert doc.dropped_lines > 10


def test_duplicated_headline_lines_are_kept_once() -> None:
    raw = SEED_004.read_text(encoding="utf-8")
    headline = "China urges joint security plan with Pakistan amid growing threats to its citizens"
    standfirst = "Last month’s airport bombing in the southern port city that killed two Chinese engineers was"
    assert raw.count(headline) >= 2
    doc = load_file(SEED_004, SEEDS)
    assert doc.text.count(headline) == 1
    assert doc.text.count(standfirst) == 1


def test_clean_text_rules() -> None:
    text = (
        "Home\nWorld\nSport\n\nBridge over the river opens after six years of work\n\n"
        "Bridge over the river opens after six years of work\nThe new bridge opened on Sunday, the city said.\n\n"
        "Traffic was light on the first day, officials added."
    )
    cleaned, dropped = clean_text(text)
    assert cleaned == (
        "Bridge over the river opens after six years of work\n\nThe new bridge opened on Sunday, the city said."
        "\n\nTraffic was light on the first day, officials added."
    )
    assert dropped == 4  # three menu labels above the headline, the repeated headline
    long_line = "A long repeated paragraph. " * 10  # >= 200 chars: repeated paragraphs are not headlines
    cleaned, _ = clean_text(f"{long_line}\n{long_line}")
    assert cleaned.count("A long repeated paragraph.") == 20


# -- manifest ----------------------------------------------------------------------------------
def test_manifest_titles_and_metadata_win(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "A headline that is not the real title\n\n" + ARTICLE)
    _write(tmp_path / "b.txt", "Second headline\n\n" + ARTICLE)
    manifest = {
        "documents": [
            {
                "file": "a.txt",
                "title": "The manifest title",
                "publisher": "Example Wire",
                "url": "https://example.com/a",
                "date": "2024-10-07",
            }
        ]
    }
    _write(tmp_path / "manifest.json", json.dumps(manifest))
    entries = load_manifest(tmp_path)
    a = load_file(tmp_path / "a.txt", tmp_path, entries)
    b = load_file(tmp_path / "b.txt", tmp_path, entries)
    assert (a.title, a.publisher, a.url, a.date) == (
        "The manifest title",
        "Example Wire",
        "https://example.com/a",
        "2024-10-07",
    )
    assert b.title == "Second headline" and b.publisher is None
    # the title is part of the content hash, so a manifest change re-ingests the document
    assert a.content_hash != load_file(tmp_path / "a.txt", tmp_path, {}).content_hash


def test_manifest_invalid_json_is_a_load_error(tmp_path: Path) -> None:
    _write(tmp_path / "manifest.json", "{not json")
    with pytest.raises(LoadError, match="manifest.json"):
        load_manifest(tmp_path)


def test_discover_skips_hidden_and_unsupported_files(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", ARTICLE)
    _write(tmp_path / "b.md", ARTICLE)
    _write(tmp_path / "sub" / "c.html", HTML.format(paragraphs="<p>x</p>"))
    _write(tmp_path / ".git" / "d.txt", ARTICLE)
    _write(tmp_path / "e.pdf", b"%PDF-1.4")
    _write(tmp_path / "manifest.json", "{}")
    result = discover([tmp_path])
    assert [c.source for c in result.candidates] == ["a.txt", "b.md", "e.pdf", "sub/c.html"]
    assert all(c.key == str(c.path) and c.path.is_absolute() for c in result.candidates)
    assert not result.skipped  # hidden folders and the manifest are not documents and not worth a line
    with pytest.raises(LoadError, match="no-such-dir"):
        discover([tmp_path / "no-such-dir"])


# -- bad files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.txt", b"PK\x03\x04\x00\x00\x08\x00 some zip-like bytes \x00\x01\x02", "binary"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\t\n   \n", "empty"),
        ("bom-only.txt", b"\xef\xbb\xbf\n\x0c\n", "no article text"),  # a byte-order mark and a form feed
    ],
)
def test_bad_files_raise_load_error_naming_the_file(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(LoadError) as caught:
        load_file(path, tmp_path)
    assert name in str(caught.value)
    assert reason.lower() in str(caught.value).lower()


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    text = "Caf\u00e9 owners in K\u00f6ln said the bombing was terrible. They closed their shops for a week."
    doc = load_file(_write(tmp_path / "latin1.txt", text.encode("latin-1")), tmp_path)
    assert text in doc.text


def test_unreadable_file_raises_load_error_naming_it(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads any file whatever its mode: use a path that cannot be read as a file instead
        path = tmp_path / "unreadable.txt"
        path.mkdir()
    else:
        path = _write(tmp_path / "unreadable.txt", ARTICLE)
        path.chmod(0)
    try:
        with pytest.raises(LoadError) as caught:
            load_file(path, tmp_path)
    finally:
        if path.is_file():
            path.chmod(0o644)
    assert "unreadable.txt" in str(caught.value)
    assert "not readable" in str(caught.value)


def test_broken_symlink_raises_load_error(tmp_path: Path) -> None:
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "missing-target.txt")
    with pytest.raises(LoadError, match="gone.txt"):
        load_file(link, tmp_path)


def test_text_files_without_an_extension_are_documents(tmp_path: Path) -> None:
    # a team's README, NEWS and INSTALL files have no suffix; scripts and binaries without one are not documents
    _write(tmp_path / "NEWS", "Release 2.1\n\nThe widget now folds boxes in half.\n")
    _write(tmp_path / "README", ARTICLE)
    _write(tmp_path / "blob", b"\x7fELF\x02\x01\x00\x00binary")
    _write(tmp_path / "configure", "#!/bin/sh\necho configuring\n")
    (tmp_path / "configure").chmod(0o755)
    _write(tmp_path / "EMPTY", "   \n")
    result = discover([tmp_path])
    assert [c.source for c in result.candidates] == ["NEWS", "README"]
    assert {path for path, _ in result.skipped} == {"blob", "configure", "EMPTY"}
    assert all("(no extension)" in reason for _, reason in result.skipped)
    loaded = load_file(tmp_path / "NEWS", tmp_path)
    assert "The widget now folds boxes in half." in loaded.text
