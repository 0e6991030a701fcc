"""Markdown is read as CommonMark renders it (markdown-it-py), on hand-made documents."""

from __future__ import annotations

from ingest.markdown import markdown_blocks


def _blocks(text: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in markdown_blocks(text).blocks]


def test_reference_links_keep_their_text_and_definitions_are_not_text() -> None:
    md = "See [the parser][qs] or [`url.parse()`][] for details.\n\n[qs]: querystring.md\n[`url.parse()`]: #url_parse\n"
    assert _blocks(md) == [("text", "See the parser or url.parse() for details.")]


def test_an_undefined_reference_keeps_only_its_text() -> None:
    assert _blocks("Use [resolver.resolve()][dns.resolve()] instead.") == [("text", "Use resolver.resolve() instead.")]


def test_html_comments_are_invisible_and_html_blocks_keep_their_words() -> None:
    md = "## dns.reverse(ip, callback)\n\n<!-- YAML\nadded: v0.1.16\n-->\n\nReverse resolves an address.<!-- x -->\n\n<div>Some <b>bold</b> words</div>\n"
    assert _blocks(md) == [
        ("heading", "dns.reverse(ip, callback)"),
        ("text", "Reverse resolves an address."),
        ("text", "Some bold words"),
    ]


def test_list_entries_are_items_and_code_is_verbatim() -> None:
    md = "Options:\n\n* `shell` runs the command\n  inside a shell\n* `cwd` sets the directory\n\n```js\nconst a = 1;\n```\n\n    indented();\n"
    assert _blocks(md) == [
        ("text", "Options:"),
        ("item", "shell runs the command inside a shell"),
        ("item", "cwd sets the directory"),
        ("code", "const a = 1;"),
        ("code", "indented();"),
    ]


def test_setext_headings_tables_and_front_matter() -> None:
    md = '---\ntitle: "Install guide"\nlayout: page\n---\nSetup\n=====\n\n| option | default |\n|---|---|\n| `port` | 8000 |\n'
    extracted = markdown_blocks(md)
    assert extracted.meta["title"] == "Install guide"
    assert [(b.kind, b.text, b.level) for b in extracted.blocks] == [
        ("heading", "Setup", 1),
        ("code", "option | default\nport | 8000", 0),
    ]


def test_without_front_matter_the_first_heading_is_the_title() -> None:
    assert markdown_blocks("Intro text.\n\n## Usage\n\nRun it.").meta["title"] == "Usage"


def test_pipe_table_rows_become_sentences_labelled_by_their_headers() -> None:
    md = (
        "| UID range | Purpose | Defined By |\n|---|---|---|\n"
        "| 0 | `root` user | Linux |\n| 61184…65519 | Dynamic service users | |\n"
    )
    blocks = markdown_blocks(md).blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("item", "UID range 0 — Purpose: root user; Defined By: Linux."),
        ("item", "UID range 61184…65519 — Purpose: Dynamic service users."),
    ]
