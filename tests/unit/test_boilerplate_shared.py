"""A folder's header and footer (on most of its pages) are indexed once, found by repetition, not by words."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.boilerplate import MIN_FOLDER_DOCS, block_key, edge_keys, remove_shared, shared_edges
from ingest.discovery import discover
from ingest.formats import Block
from ingest.loaders import load_file
from ingest.planning import Build, plan
from ingest.report import IngestReport

TOPICS = ["bisect", "rebase", "stash", "worktree", "reflog", "describe", "remote"]
FOOTER = "Part of the toolkit suite, built on {date}"


def _page(topic: str, date: str = "2023-01-0{n}", n: int = 1, extra: str = "") -> str:
    return f"""<html><head><title>{topic}</title></head><body><main><h1>{topic}</h1>
<h2>Description</h2><p>The {topic} command changes how the {topic} data of a repository is kept on disk.</p>
<p>Run it with care, because {topic} rewrites what it touches. {extra}</p>
<h2>Toolkit</h2><p>{FOOTER.format(date=date.format(n=n))}</p></main></body></html>"""


def _folder(tmp_path: Path, count: int) -> Path:
    for n, topic in enumerate(TOPICS[:count], start=1):
        (tmp_path / f"{topic}.html").write_text(_page(topic, n=n), encoding="utf-8")
    return tmp_path


def _plan(folder: Path, entries: dict | None = None) -> tuple[dict, IngestReport, dict]:
    report = IngestReport()
    pending, refreshed = plan(discover([folder]), entries or {}, Build("m", "v"), report)
    return {p.doc.source: p for p in pending}, report, refreshed


def _registry(pending: dict, entries: dict | None = None) -> dict:
    out = dict(entries or {})
    out.update({p.cand.doc_id: {**p.entry, "chunk_count": 1} for p in pending.values()})
    return out


def test_a_footer_on_most_pages_is_kept_by_the_first_only_digits_aside() -> None:
    docs = {f"d{i}": ["own" + str(i), "foot"] for i in range(6)}
    docs["d5"] = ["own5"]  # 5 of 6 have it: still the folder's footer
    drops = shared_edges(docs)
    assert drops["d0"] == frozenset() and all(drops[f"d{i}"] == {"foot"} for i in range(1, 5))
    assert drops["d5"] == frozenset()
    assert block_key("last modified on 2022-10-26 20:02:18") == block_key("last modified on 2016-12-03 2:43:57")
    assert block_key("last modified on 2022") != block_key("last changed on 2022")


def test_a_small_folder_or_a_line_on_few_pages_is_not_chrome() -> None:
    small = {f"d{i}": ["foot"] for i in range(MIN_FOLDER_DOCS - 1)}
    assert all(not d for d in shared_edges(small).values())
    few = {f"d{i}": ["foot"] if i < 2 else [f"own{i}"] for i in range(6)}  # 2 of 6: a note the author repeats
    assert all(not d for d in shared_edges(few).values())


def test_only_runs_at_the_edges_go_and_a_heading_left_empty_goes_with_them() -> None:
    foot = block_key("Part of the suite")
    blocks = [
        Block("heading", "Intro", 2),
        Block("text", "Part of the suite"),  # at the top: chrome as well
        Block("text", "The tool keeps three copies of every file."),
        Block("text", "Part of the suite"),  # in the middle: the author's
        Block("text", "Copies are checked every night."),
        Block("heading", "Suite", 2),
        Block("text", "Part of the suite"),
    ]
    kept, dropped = remove_shared(blocks, frozenset({foot}))
    assert [b.text for b in kept] == ["Intro", blocks[2].text, "Part of the suite", blocks[4].text]
    assert dropped == 3  # two footers and the heading left empty; "Intro" keeps its paragraphs


def test_a_document_that_would_be_left_empty_keeps_everything() -> None:
    blocks = [Block("heading", "Suite", 1), Block("text", "Part of the suite")]
    assert remove_shared(blocks, frozenset({block_key("Part of the suite")})) == (blocks, 0)


def test_edge_keys_are_the_prose_blocks_near_top_and_bottom() -> None:
    body = [Block("text", f"Paragraph {chr(97 + i)} of the body.") for i in range(20)]
    keys = edge_keys([Block("heading", "T", 1), Block("code", "x = 1")] + body)
    assert len(keys) == 16 and block_key("Paragraph a of the body.") in keys
    assert block_key("Paragraph j of the body.") not in keys  # the middle of a page is its own


def test_a_folder_footer_is_indexed_once_and_reingest_is_idempotent(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 6)
    pending, report, _ = _plan(folder)
    assert len(pending) == 6 and report.failed == 0
    with_footer = sorted(s for s, p in pending.items() if "Part of the toolkit suite" in p.doc.text)
    assert with_footer == ["bisect.html"]  # the first in order keeps it, once
    stash = pending["stash.html"].doc
    assert "Toolkit" not in [path.rsplit(" > ", 1)[-1] for _, path in stash.sections]  # emptied heading gone
    assert "rewrites what it touches" in stash.text  # the page's own text stays
    entries = _registry(pending)
    again, report, refreshed = _plan(folder, entries)
    assert not again and report.unchanged == 6 and not refreshed


def test_an_edited_page_is_the_only_one_rebuilt_and_a_deleted_keeper_hands_the_footer_on(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 6)
    entries = _registry(_plan(folder)[0])
    stash = folder / "stash.html"
    stash.write_text(_page("stash", n=3, extra="A new sentence about stashes."), encoding="utf-8")
    os.utime(stash, ns=(1, 1))
    pending, report, _ = _plan(folder, entries)
    assert list(pending) == ["stash.html"] and report.unchanged == 5
    assert "A new sentence" in pending["stash.html"].doc.text and "toolkit suite" not in pending["stash.html"].doc.text
    entries = _registry(pending, entries)
    (folder / "bisect.html").unlink()
    pending, report, _ = _plan(folder, entries)
    assert list(pending) == ["describe.html"]  # now the first: it keeps the footer
    assert "Part of the toolkit suite" in pending["describe.html"].doc.text


def test_one_file_on_its_own_keeps_its_footer(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 6)
    doc = load_file(folder / "stash.html", folder)
    assert "Part of the toolkit suite" in doc.text
    pending, _, _ = _plan(folder / "stash.html")
    assert "Part of the toolkit suite" in pending["stash.html"].doc.text
