"""Debian ships documentation gzipped (page.html.gz, README.txt.gz) and Sphinx keeps reST sources as .rst.txt."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.formats import document_suffix
from ingest.loaders import MAX_FILE_BYTES, LoadError, load_file
from ingest.planning import Build, plan
from ingest.report import IngestReport

PAGE = """<html><head><title>Mirrors</title></head><body><main><h1>Mirrors</h1>
<h2>Choosing one</h2><p>A mirror close to you answers faster, so the installer asks for a country first.</p>
</main></body></html>"""
RST = """Backups
=======

Snapshots
---------

A snapshot is taken every night at two o'clock and kept for thirty days.

Restores
--------

Restore a snapshot with :command:`restic restore` into an empty folder.
"""


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("a.html.gz", ".html"),
        ("README.TXT.GZ", ".txt"),
        ("x.md.gz", ".md"),
        ("_sources/x.rst.txt", ".rst"),
        ("x.rst.txt.gz", ".rst"),
        ("notes.txt", ".txt"),
        ("archive.tar.gz", ".tar"),
        ("x.gz", ""),
        ("Makefile", ""),
    ],
)
def test_the_type_a_file_is_read_as(name: str, suffix: str) -> None:
    assert document_suffix(name) == suffix


def test_gzipped_html_text_and_markdown_read_as_their_inner_type(tmp_path: Path) -> None:
    (tmp_path / "mirrors.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    (tmp_path / "notes.txt.gz").write_bytes(gzip.compress(b"The build server restarts every Sunday at noon."))
    (tmp_path / "guide.md.gz").write_bytes(gzip.compress(b"# Guide\n\n## Setup\n\nRun `make setup` once per checkout."))
    html = load_file(tmp_path / "mirrors.html.gz", tmp_path)
    assert html.title == "Mirrors" and "<" not in html.text
    assert html.section_at(html.text.index("A mirror")) == "Mirrors > Choosing one"
    assert load_file(tmp_path / "notes.txt.gz", tmp_path).text == "The build server restarts every Sunday at noon."
    md = load_file(tmp_path / "guide.md.gz", tmp_path)
    assert md.section_at(md.text.index("Run make setup")) == "Guide > Setup"


def test_sphinx_rst_source_is_read_as_rest(tmp_path: Path) -> None:
    (tmp_path / "backups.rst.txt").write_text(RST, encoding="utf-8")
    doc = load_file(tmp_path / "backups.rst.txt", tmp_path)
    assert doc.title == "Backups" and "=====" not in doc.text
    assert doc.section_at(doc.text.index("A snapshot")) == "Backups > Snapshots"
    assert "Restore a snapshot with restic restore into" in doc.text  # the role's text, not its markup


def test_a_gzip_bomb_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "big.txt.gz").write_bytes(gzip.compress(b"a " * (MAX_FILE_BYTES // 2 + 1)))
    with pytest.raises(LoadError, match="byte limit"):
        load_file(tmp_path / "big.txt.gz", tmp_path)


def test_a_broken_gzip_file_is_one_clear_skip_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "good.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    (tmp_path / "truncated.html.gz").write_bytes(gzip.compress(PAGE.encode())[:30])
    (tmp_path / "not-gzip.txt.gz").write_bytes(b"plain text pretending to be compressed")
    (tmp_path / "plain.txt").write_text("Plain files next to them are read as before.", encoding="utf-8")
    found = discover([tmp_path])
    assert sorted(c.source for c in found.candidates) == [
        "good.html.gz",
        "not-gzip.txt.gz",
        "plain.txt",
        "truncated.html.gz",
    ]
    report = IngestReport()
    pending, _ = plan(found, {}, Build("m", "v"), report)
    assert sorted(p.doc.source for p in pending) == ["good.html.gz", "plain.txt"]
    reasons = dict(line.split(": ", 1) for line in report.failures)
    assert set(reasons) == {"truncated.html.gz", "not-gzip.txt.gz"}
    assert all(r.startswith("not a readable gzip file") for r in reasons.values()), reasons
    assert "Traceback" not in " ".join(reasons.values())


def test_an_unsupported_gzipped_type_is_named_in_the_skip(tmp_path: Path) -> None:
    (tmp_path / "data.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    found = discover([tmp_path])
    assert not found.candidates
    assert found.skipped[0][1].startswith("unsupported type .csv.gz; supported:")
