"""A team's plain-text and Markdown notes: headings of .txt files, and changelogs' release headings."""

from __future__ import annotations

from pathlib import Path

from ingest.changelog import lead_releases
from ingest.formats import Block
from ingest.loaders import load_file
from ingest.plaintext import plain_text_blocks

WRAPPED = (
    "The builder runs the binary targets under fakeroot unless the field says\n"
    "otherwise, and it exports the level it supports to the rules file so that\n"
    "tools can tell what they may do.\n"
)


def _headings(blocks: list[Block]) -> list[tuple[int, str]]:
    return [(b.level, b.text) for b in blocks if b.kind == "heading"]


def test_underlined_headings_are_sections_in_order_of_their_underline() -> None:
    text = f"Rootless builds\n===============\n\nBackground\n----------\n\n{WRAPPED}\nGain Root API\n-------------\n\n{WRAPPED}"
    blocks = plain_text_blocks(text)
    assert _headings(blocks) == [(1, "Rootless builds"), (2, "Background"), (2, "Gain Root API")]
    prose = [b.text for b in blocks if b.kind == "text"]
    assert prose[0].startswith("The builder runs the binary targets under fakeroot unless the field says otherwise,")
    assert not any("===" in b.text or "---" in b.text for b in blocks)


def test_a_rule_under_a_wrapped_paragraph_is_no_heading() -> None:
    blocks = plain_text_blocks(f"{WRAPPED}-----\n\n{WRAPPED}")
    assert _headings(blocks) == []
    assert not any(b.text == "-----" for b in blocks)  # a rule is layout


def test_overlined_section_below_an_untitled_intro_is_not_the_title(tmp_path: Path) -> None:
    text = f"{WRAPPED}\n*********************\nPre-C99 build failure\n---------------------\n\n{WRAPPED}"
    blocks = plain_text_blocks(text)
    assert _headings(blocks) == [(2, "Pre-C99 build failure")]
    (tmp_path / "README.txt").write_text(text)
    doc = load_file(tmp_path / "README.txt", tmp_path)
    assert doc.title.startswith("The builder runs the binary targets")
    assert doc.section_at(len(doc.text) - 1) == "Pre-C99 build failure"


def test_emacs_outline_headings_need_second_level_ones() -> None:
    outline = f"Tool NEWS\n\n* Changes in release 4.9.0\n\n** New features\n\n{WRAPPED}\n** Bug Fixes\n\n{WRAPPED}"
    assert _headings(plain_text_blocks(outline)) == [
        (2, "Changes in release 4.9.0"),
        (3, "New features"),
        (3, "Bug Fixes"),
    ]
    bullets = "Shopping\n\n* apples\n\n* pears\n"
    assert _headings(plain_text_blocks(bullets)) == []


def test_flush_left_lines_over_an_indented_body_are_headings() -> None:
    body = "   " + WRAPPED.replace("\n", "\n   ").rstrip() + "\n"
    text = (
        f"Users and Groups\n\nJane Doe\nJohn Roe\n\n{body}\nChapter 1. Introduction\n\n{body}\nFont Matching\n\n{body}"
    )
    blocks = plain_text_blocks(text)
    headings = [t for _, t in _headings(blocks)]
    assert headings == ["Chapter 1. Introduction", "Font Matching"]  # authors' names over names are no heading
    assert any(b.text.startswith("The builder runs") and "says otherwise," in b.text for b in blocks)


def test_plain_paragraphs_stay_as_before() -> None:
    text = "Line one of an article that is one paragraph per line.\nA second paragraph, again on one line.\n"
    assert [b.text for b in plain_text_blocks(text)] == [
        "Line one of an article that is one paragraph per line.",
        "A second paragraph, again on one line.",
    ]


def _changelog() -> list[Block]:
    blocks = [Block("heading", "tool 2.1.0 (4 May 2024)", 1), Block("text", "Fixes:")]
    blocks.append(Block("item", "Building tool now requires a C99 compiler."))
    for version in ("2.0.1", "2.0.0"):
        blocks += [Block("heading", f"tool {version}", 1), Block("heading", "Bug Fixes", 2)]
        blocks.append(Block("item", f"Fix a crash in the parser of {version}."))
    return blocks


def test_release_headings_lead_their_entries_with_the_kind_of_change_and_without_shared_words() -> None:
    led = [b.text for b in lead_releases(_changelog()) if b.kind != "heading"]
    assert led == [
        "Fixes:",  # a label line is not led: it names the kind of change of the entries below it
        "2.1.0 (4 May 2024), Fixes: Building tool now requires a C99 compiler.",
        "2.0.1, Bug Fixes: Fix a crash in the parser of 2.0.1.",
        "2.0.0, Bug Fixes: Fix a crash in the parser of 2.0.0.",
    ]


def test_two_version_headings_are_no_changelog() -> None:
    blocks = _changelog()[:6]  # releases 2.1.0 and 2.0.1 only
    assert [b.text for b in lead_releases(blocks)] == [b.text for b in blocks]


def test_a_changelog_that_opens_with_a_release_is_named_by_its_file(tmp_path: Path) -> None:
    releases = "".join(
        f"tool {v} ({d})\n==================\n\n * Fix the {n} bug in the parser.\n\n"
        for v, d, n in (
            ("1.5.7", "13 November 2022", "first"),
            ("1.5.6", "24 April 2022", "second"),
            ("1.5.5", "3 January 2022", "third"),
        )
    )
    (tmp_path / "tool-NEWS.md").write_text(releases)
    doc = load_file(tmp_path / "tool-NEWS.md", tmp_path)
    assert doc.title == "tool-NEWS"
    assert "1.5.6 (24 April 2022): Fix the second bug in the parser." in doc.text
    assert doc.section_at(doc.text.index("second bug")) == "tool 1.5.6 (24 April 2022)"


def test_an_indented_definition_list_is_led_by_its_terms() -> None:
    lines = WRAPPED.splitlines()[:2] * 2 + ["and that is the end of the entry of this user, as it says here."]
    body = "".join(f"          {line}\n" for line in lines)
    text = (
        f"   sync\n{body}\n"
        "          A second paragraph of the same entry.\n\n"
        "   games\n          Many games are sgid to games.\n\n"
        "   A paragraph after the list, back at the list's indent.\n"
    )
    assert [b.text for b in plain_text_blocks(text)] == [
        "sync: " + " ".join(" ".join(lines).split()),
        "sync: A second paragraph of the same entry.",
        "games: Many games are sgid to games.",
        "A paragraph after the list, back at the list's indent.",
    ]


def test_outline_star_lines_that_are_sentences_are_entries_not_headings() -> None:
    text = (
        "* Major changes in release 4.2.3, 2004-10-30\n"
        "**  Functionality Changes\n"
        "*** Added new action -delete which deletes things that find matches.\n"
        "*** Added new action -quit which causes find to exit immediately.\n"
        "** Other Changes\n"
        "*** Non-functional code changes to silence compiler warnings.\n"
    )
    blocks = plain_text_blocks(text)
    assert _headings(blocks) == [
        (1, "Major changes in release 4.2.3, 2004-10-30"),
        (2, "Functionality Changes"),
        (2, "Other Changes"),
    ]
    assert [(b.kind, b.text) for b in blocks if b.kind != "heading"] == [
        ("item", "Added new action -delete which deletes things that find matches."),
        ("item", "Added new action -quit which causes find to exit immediately."),
        ("item", "Non-functional code changes to silence compiler warnings."),
    ]


def test_an_outline_entry_wrapped_onto_the_next_line_is_no_heading() -> None:
    text = (
        "* Release 4.2.4\n** Bug Fixes\n*** \"find -printf '%H'\" now works (rather than segfaulting) on\n"
        "    directories given on the command line.\n** Other Changes\n*** Quieter build.\n"
    )
    assert [t for _, t in _headings(plain_text_blocks(text))] == ["Release 4.2.4", "Bug Fixes", "Other Changes"]
