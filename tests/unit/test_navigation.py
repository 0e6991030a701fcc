"""Navigation bars, tables of contents and generated indexes (blocks of links) are not indexed as prose."""

from __future__ import annotations

from pathlib import Path

import lxml.html

from ingest.loaders import load_file
from ingest.navigation import drop_link_blocks, is_link_block

PAGE = """<html><head><title>Snapshots</title></head><body>
<div class="related"><ul><li><a href="genindex.html">index</a></li><li><a href="py-modindex.html">modules</a> |</li>
<li><a href="next.html">next</a> |</li><li><a href="prev.html">previous</a> |</li></ul></div>
<main><h1>Snapshots</h1>
<div class="toc"><dl><dt><a href="#a">1.1. Taking a snapshot</a></dt><dt><a href="#b">1.2. Restoring one</a></dt>
<dt><a href="#c">1.3. Expiry</a></dt></dl></div>
<h2 id="a">Taking a snapshot</h2>
<p>A snapshot is taken every night and kept for thirty days, see <a href="expiry.html">expiry</a> and
<a href="restore.html">restoring</a> for what happens next, or <a href="faq.html">the FAQ</a>.</p>
<table><tr><td><a href="zfs.html">zfs</a></td><td>Copy-on-write file system with cheap snapshots of every dataset</td></tr>
<tr><td><a href="lvm.html">lvm</a></td><td>Logical volumes whose snapshots need reserved space up front</td></tr>
<tr><td><a href="btrfs.html">btrfs</a></td><td>Subvolumes that can be snapshotted read-only or writable</td></tr></table>
<h2 id="b">Restoring one</h2><p>Restoring copies the files back into an empty folder of your choice.</p>
<div class="jump"><a href="#A">A</a> | <a href="#B">B</a> | <a href="#C">C</a> | <a href="#D">D</a></div>
</main>
<div class="docnav"><a href="prev.html">Prev</a> <a href="up.html">Up</a> <a href="index.html">Home</a> <a href="next.html">Next</a></div>
</body></html>"""


def _element(html: str):
    return lxml.html.fragment_fromstring(html)


def test_a_block_is_navigation_when_nearly_all_its_letters_are_in_three_or_more_links() -> None:
    assert is_link_block(_element('<p><a href="a">index</a> | <a href="b">modules</a> | <a href="c">next</a></p>'))
    assert not is_link_block(_element('<p><a href="a">index</a> | <a href="b">modules</a></p>'))  # two links
    prose = '<p>Read <a href="a">the guide</a>, then <a href="b">the FAQ</a> and <a href="c">notes</a> first.</p>'
    assert not is_link_block(_element(prose))
    assert not is_link_block(_element("<ul><li>plain</li><li>items</li><li>without links</li></ul>"))


def test_menus_tocs_and_letter_bars_go_and_the_text_and_a_described_table_stay(tmp_path: Path) -> None:
    path = tmp_path / "snapshots.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = load_file(path, tmp_path)
    for chrome in ("modules", "previous", "1.1. Taking", "Prev", "Home", "A | B"):
        assert chrome not in doc.text, chrome
    assert "kept for thirty days, see expiry and restoring for what happens next" in doc.text
    assert "Copy-on-write file system" in doc.text and "zfs" in doc.text  # names with descriptions: content
    assert doc.section_at(doc.text.index("Restoring copies")) == "Snapshots > Restoring one"


def test_a_table_of_contents_page_keeps_its_prose_and_drops_its_link_list() -> None:
    doc = lxml.html.document_fromstring(
        "<html><body><h1>The Library</h1><p>This manual describes the modules shipped with the tool.</p>"
        '<ul><li><a href="a.html">Introduction</a><ul><li><a href="b.html">Availability</a></li></ul></li>'
        '<li><a href="c.html">Built-in functions</a></li></ul></body></html>'
    )
    assert drop_link_blocks(doc) == 1  # the outer list, with the nested one inside it
    text = doc.text_content()
    assert "describes the modules" in text and "Introduction" not in text and "Availability" not in text
