"""Text that keeps its sentences: HTML structure, code, permalink marks, hard wraps, charsets, PDF, DOCX."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.formats import ends_sentence, text_blocks
from ingest.loaders import LoadError, load_file, prose_sentences
from tests.support.documents import write_docx, write_pdf

PYDOCS = Path(__file__).resolve().parents[1] / "data" / "pydocs"
PAGES = sorted(PYDOCS.glob("*.html"))


def test_python_docs_prose_sentences_end_in_terminal_punctuation() -> None:
    """The issue's measure: share of prose sentences ending in terminal punctuation >= 0.98."""
    total = ended = 0
    for page in PAGES:
        sentences = prose_sentences(load_file(page, PYDOCS))
        total += len(sentences)
        ended += sum(ends_sentence(s) for s in sentences)
    share = ended / total
    print(
        f"\nprose sentences: {total} over {len(PAGES)} Python-docs pages; ending in terminal punctuation: {share:.3f}"
    )
    assert len(PAGES) >= 4 and total > 300
    assert share >= 0.98


def test_python_docs_titles_headings_and_code() -> None:
    doc = load_file(PYDOCS / "functools.html", PYDOCS)
    assert doc.title == "functools — Higher-order functions and operations on callable objects"
    assert "¶" not in doc.text and "¶" not in doc.title
    assert doc.section_at(len(doc.text) - 1) == f"{doc.title} > partial Objects"
    # a code example is kept verbatim (its line breaks and indentation), fenced, and is not prose
    code = "class DataSet:\n\n    def __init__(self, sequence_of_numbers):\n        self._data = tuple(sequence_of_numbers)"
    at = doc.text.index(code)
    assert doc.non_prose(at, at + len(code))
    assert any(lo <= at < hi and doc.text[lo:hi].startswith("```") for lo, hi in doc.code_spans)
    assert not any("def __init__" in s for s in prose_sentences(doc))
    # paragraphs are joined where the HTML source wrapped its lines
    assert "Returns the same as lru_cache(maxsize=None), creating a thin wrapper around a dictionary lookup" in doc.text
    shlex = load_file(PYDOCS / "shlex.html", PYDOCS)
    assert [path for _, path in shlex.sections][1:3] == [
        "shlex — Simple lexical analysis > shlex Objects",
        "shlex — Simple lexical analysis > Parsing Rules",
    ]


def test_hard_wrapped_text_is_joined_within_paragraphs_and_one_line_paragraphs_stay(tmp_path: Path) -> None:
    wrapped = (
        "The committee met on Monday to discuss the new budget for the coming year and\n"
        "agreed that the library would receive more money than it had asked for, which\n"
        "surprised the librarians.\n\n"
        "A second paragraph follows here, also wrapped by the editor at the same column\n"
        "width, and it ends on this line.\n"
    )
    blocks = [b.text for b in text_blocks(wrapped)]
    assert blocks == [
        "The committee met on Monday to discuss the new budget for the coming year and agreed that the library "
        "would receive more money than it had asked for, which surprised the librarians.",
        "A second paragraph follows here, also wrapped by the editor at the same column width, and it ends on this line.",
    ]
    scraped = "Headline without a full stop\nA first paragraph on one long line " + "word " * 30 + "end.\nNext one."
    assert len(text_blocks(scraped)) == 3


LATIN1_HTML = (
    "<html><head><meta charset='iso-8859-1'><title>Caf\u00e9 news</title></head><body><article>"
    "<h1>Caf\u00e9 cr\u00e8me</h1><p>The caf\u00e9 on the corner serves cr\u00e8me br\u00fbl\u00e9e every day, "
    "and the owner says it is the best in the city. She has run it for twenty years.</p></article></body></html>"
)


@pytest.mark.parametrize("declared", [True, False])
def test_latin1_html_with_or_without_a_declared_charset(tmp_path: Path, declared: bool) -> None:
    html = LATIN1_HTML if declared else LATIN1_HTML.replace("<meta charset='iso-8859-1'>", "")
    path = tmp_path / "cafe.html"
    path.write_bytes(html.encode("latin-1"))
    doc = load_file(path, tmp_path)
    assert "cr\u00e8me br\u00fbl\u00e9e" in doc.text and doc.title == "Caf\u00e9 cr\u00e8me"


UTF16_TEXT = "Notes \u00e9t\u00e9\n\nThe pump moves forty litres a minute. It was serviced in March.\n"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_text_with_a_byte_order_mark_is_read_not_called_binary(tmp_path: Path, codec: str) -> None:
    # Windows editors and PowerShell's `>` write UTF-16 with a BOM: every other byte of ASCII text is NUL
    raw = UTF16_TEXT.encode(codec)
    if codec == "utf-16-be":
        raw = b"\xfe\xff" + raw
    for name, data in (("notes.txt", raw), ("notes.md", raw)):
        (tmp_path / name).write_bytes(data)
        doc = load_file(tmp_path / name, tmp_path)
        assert "The pump moves forty litres a minute." in doc.text and "\x00" not in doc.text
        assert doc.title == "Notes \u00e9t\u00e9"


def test_nul_bytes_without_a_byte_order_mark_are_still_a_binary_file(tmp_path: Path) -> None:
    (tmp_path / "blob.txt").write_bytes(b"PK\x03\x04\x00\x00binary\x00data")
    with pytest.raises(LoadError, match="binary file"):
        load_file(tmp_path / "blob.txt", tmp_path)


def test_a_table_only_page_is_titled_by_its_file_name_not_a_code_fence(tmp_path: Path) -> None:
    (tmp_path / "pump-models.html").write_text(
        "<html><body><table><tr><td>Model</td><td>Flow</td></tr><tr><td>P-9</td><td>40 l/min</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )
    doc = load_file(tmp_path / "pump-models.html", tmp_path)
    assert "P-9 — 40 l/min." in doc.text
    assert doc.title == "pump-models"


NODE_STYLE_PAGE = """<html><head><title>Trace events | Acme v3 Documentation</title></head><body>
<div id="column1"><header><h1>Acme v3 documentation</h1></header>
<h2>Trace events</h2>
<p>The trace module collects timing data from the runtime and from user code.</p>
<p>The available categories are:</p>
<ul>
<li><code>acme.bootstrap</code>: Enables capture of the start-up milestones.</li>
<li><code>acme.console</code>: Enables capture of <code>console.time()</code> output.</li>
</ul>
<h3>Enabling tracing</h3>
<p>Tracing is enabled with a command-line flag or from code at run time.</p>
</div></body></html>"""


def test_a_site_banner_heading_above_the_page_title_is_not_the_title(tmp_path: Path) -> None:
    (tmp_path / "tracing.html").write_text(NODE_STYLE_PAGE, encoding="utf-8")
    doc = load_file(tmp_path / "tracing.html", tmp_path)
    assert doc.title == "Trace events"
    assert "Acme v3 documentation" not in doc.text
    at = doc.text.index("Tracing is enabled")
    assert doc.section_at(at) == "Trace events > Enabling tracing"


def test_a_list_entry_opening_with_inline_code_keeps_its_prose(tmp_path: Path) -> None:
    (tmp_path / "tracing.html").write_text(NODE_STYLE_PAGE, encoding="utf-8")
    doc = load_file(tmp_path / "tracing.html", tmp_path)
    assert "acme.bootstrap: Enables capture of the start-up milestones." in doc.text
    assert "acme.console: Enables capture of console.time() output." in doc.text
    assert "```\nacme.console\n```" not in doc.text


def test_a_copy_button_is_not_code_and_two_flavours_of_an_example_stay_apart(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Events</title></head><body><h1>Events</h1>"
        "<p>The emitter calls every listener of an event in the order they were added.</p>"
        '<pre><input type="checkbox" aria-label="Show modern syntax"><code class="mjs">import { on } from "ev";'
        '</code><code class="cjs">const { on } = require("ev");</code><button class="copy-button">copy</button></pre>'
        "<p>Listeners run synchronously, one after another.</p></body></html>"
    )
    (tmp_path / "events.html").write_text(page, encoding="utf-8")
    doc = load_file(tmp_path / "events.html", tmp_path)
    assert 'import { on } from "ev";\n\nconst { on } = require("ev");\n```' in doc.text
    assert "copy" not in doc.text


def test_pdf_paragraphs_are_joined_lines(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "report.pdf",
        [
            ["Annual report of the river authority"],
            [
                "The river authority cleared forty kilometres of channel during the",
                "year and planted two thousand willows along the banks.",
            ],
            ["Flood warnings were issued on nine days, fewer than the year before."],
        ],
    )
    doc = load_file(path, tmp_path)
    assert (
        "The river authority cleared forty kilometres of channel during the year and planted two thousand "
        "willows along the banks." in doc.text
    )
    assert doc.title == "Annual report of the river authority"
    assert all(ends_sentence(s) for s in prose_sentences(doc) if s != doc.title)  # a PDF has no heading markup


def test_broken_pdf_and_docx_are_load_errors_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf at all")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(LoadError, match="broken.pdf: not a readable PDF"):
        load_file(tmp_path / "broken.pdf", tmp_path)
    with pytest.raises(LoadError, match="broken.docx: not a readable DOCX"):
        load_file(tmp_path / "broken.docx", tmp_path)


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "minutes.docx",
        "Meeting minutes",
        {
            "Budget": ["The board approved a budget of three million for the new school year."],
            "Staff": ["Two teachers retire in June.", "The board thanked them for their service."],
        },
    )
    doc = load_file(path, tmp_path)
    assert doc.title == "Meeting minutes"
    at = doc.text.index("Two teachers retire")
    assert doc.section_at(at) == "Meeting minutes > Staff"
    assert doc.section_at(doc.text.index("three million")) == "Meeting minutes > Budget"
    assert "Two teachers retire in June." in prose_sentences(doc)


def test_over_long_title_is_shortened_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "long.md"
    path.write_text("# " + "Very long heading words " * 200 + "\n\nThe body is one short sentence.", encoding="utf-8")
    doc = load_file(path, tmp_path)
    assert len(doc.title) <= 201 and doc.title.endswith("…")


GIT_CORPUS = Path(__file__).resolve().parents[1] / "eval" / "corpora" / "git" / "pages"


def test_definition_terms_lead_the_paragraphs_they_define(tmp_path: Path) -> None:
    page = tmp_path / "opts.html"
    page.write_text(
        "<html><head><title>tool options</title></head><body><main><h1>tool</h1>"
        "<p>The tool copies files between two folders and reports what changed on the way.</p>"
        "<dl><dt>-k</dt><dt>--keep-going</dt><dd><p>Only valid for copy.</p>"
        "<p>Errors are reported at the end instead of stopping the run.</p></dd>"
        "<dt>open(path, mode='r')</dt><dd><p>Opens the file and returns a stream object.</p></dd></dl>"
        "</main></body></html>",
        encoding="utf-8",
    )
    text = load_file(page, tmp_path).text
    assert "-k, --keep-going: Errors are reported at the end instead of stopping the run." in text
    assert "-k, --keep-going: Only valid for copy." in text
    assert "```\nopen(path, mode='r')\n```" in text  # a signature stays verbatim code, not a lead-in
    assert "open(path, mode='r'): Opens" not in text


SPHINX_ENTRIES = (
    "<html><head><title>wrap — text tools</title></head><body><main><h1>wrap — text tools</h1>"
    "<p>This module wraps and fills paragraphs of plain text for terminals of any width.</p>"
    '<dl class="py function"><dt class="sig sig-object py" id="wrap.dedent">'
    '<span class="sig-prename descclassname">wrap.</span><span class="sig-name descname">dedent</span>'
    '<span class="sig-paren">(</span><em class="sig-param">text</em><span class="sig-paren">)</span>'
    '<a class="headerlink" href="#wrap.dedent">¶</a></dt>'
    "<dd><p>Remove any common leading whitespace from every line in text.</p>"
    "<pre>dedent('  a')</pre><p>Lines holding only whitespace are ignored.</p></dd></dl>"
    '<dl class="py class"><dt class="sig sig-object py" id="wrap.Wrapper">'
    '<em class="property">class </em><span class="sig-prename descclassname">wrap.</span>'
    '<span class="sig-name descname">Wrapper</span><span class="sig-paren">(</span>'
    '<em class="sig-param">width=70</em><span class="sig-paren">)</span></dt>'
    "<dd><p>The class that does the wrapping of every paragraph it is given.</p>"
    '<dl class="py attribute"><dt class="sig sig-object py" id="wrap.Wrapper.width">'
    '<span class="sig-name descname">width</span></dt>'
    "<dd><p>The maximum length of wrapped lines, in characters.</p></dd></dl></dd></dl>"
    "</main></body></html>"
)


def test_a_sphinx_signature_names_the_sentences_of_its_entry(tmp_path: Path) -> None:
    page = tmp_path / "wrap.html"
    page.write_text(SPHINX_ENTRIES, encoding="utf-8")
    text = load_file(page, tmp_path).text
    # the qualified name (from the anchor id) leads each paragraph; "()" marks a callable
    assert "wrap.dedent(): Remove any common leading whitespace from every line in text." in text
    assert "wrap.dedent(): Lines holding only whitespace are ignored." in text
    assert "wrap.Wrapper(): The class that does the wrapping" in text
    # the full signature is still there, verbatim, as code
    assert "```\nwrap.dedent(text)\n```" in text and "```\nclass wrap.Wrapper(width=70)\n```" in text
    # a member inside its class's entry is led by its own name only, once
    assert "wrap.Wrapper.width: The maximum length of wrapped lines, in characters." in text
    assert "wrap.Wrapper(): wrap.Wrapper.width" not in text


def test_a_lead_in_never_stands_alone_before_a_code_block(tmp_path: Path) -> None:
    page = tmp_path / "parent.html"
    page.write_text(
        "<html><head><title>paths</title></head><body><main><h1>paths</h1>"
        "<p>Pure paths handle file system paths without touching the disk at all.</p>"
        '<dl class="py attribute"><dt class="sig sig-object py" id="paths.Path.parent">'
        '<span class="sig-prename descclassname">Path.</span><span class="sig-name descname">parent</span></dt>'
        "<dd><p>The logical parent of the path:</p><pre>&gt;&gt;&gt; p.parent</pre>"
        "<p>You cannot go past an anchor, or empty path:</p><pre>&gt;&gt;&gt; q.parent</pre></dd></dl>"
        "</main></body></html>",
        encoding="utf-8",
    )
    text = load_file(page, tmp_path).text
    assert text.count("paths.Path.parent:") == 2
    assert "paths.Path.parent: The logical parent of the path:" in text
    assert "paths.Path.parent: You cannot go past an anchor, or empty path:" in text
    assert "paths.Path.parent: paths.Path.parent" not in text


def test_a_one_row_layout_table_is_prose_and_a_data_table_is_rows(tmp_path: Path) -> None:
    page = tmp_path / "note.html"
    page.write_text(
        "<html><head><title>helper</title></head><body><main><h1>helper</h1>"
        "<p>This helper keeps your passwords for later use by other programs on the same machine.</p>"
        "<table><tr><td><div>Note</div></td><td>The passwords are stored unencrypted on disk.</td></tr></table>"
        "<table><tr><th>name</th><th>size</th></tr><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></table>"
        "</main></body></html>",
        encoding="utf-8",
    )
    text = load_file(page, tmp_path).text
    assert "Note: The passwords are stored unencrypted on disk." in text
    assert (
        "Name a — size: 1.\n\nName b — size: 2." in text.split("unencrypted on disk.")[1]
    )  # the data table: one row each


@pytest.mark.skipif(not GIT_CORPUS.is_dir(), reason="git eval corpus not present")
def test_git_manual_option_and_note_text_is_prose() -> None:
    stash = load_file(GIT_CORPUS / "git-stash.html", GIT_CORPUS).text
    assert "--keep-index, --no-keep-index: All changes already added to the index are left intact." in stash
    store = load_file(GIT_CORPUS / "git-credential-store.html", GIT_CORPUS).text
    assert "Note: Using this helper will store your passwords unencrypted on disk" in store


def test_table_cell_labels_in_an_entry_are_not_led_and_stay_apart(tmp_path: Path) -> None:
    page = tmp_path / "setup.html"
    page.write_text(
        "<html><head><title>setup</title></head><body><main><h1>setup</h1>"
        "<p>The setup module configures the output of a program in one call.</p>"
        '<dl class="py function"><dt class="sig sig-object py" id="setup.configure">'
        '<span class="sig-prename descclassname">setup.</span><span class="sig-name descname">configure</span>'
        '<span class="sig-paren">(</span><span class="sig-paren">)</span></dt>'
        "<dd><p>The following keyword arguments are supported.</p>"
        "<table><tr><th><p>Format</p></th><th><p>Description</p></th></tr>"
        "<tr><td><p>style</p></td><td><p>If format is specified, use this style for the format string.</p></td></tr>"
        "</table></dd></dl><dl><dt>names:</dt><dd><p>The names of the members for the new type.</p></dd></dl>"
        "</main></body></html>",
        encoding="utf-8",
    )
    doc = load_file(page, tmp_path)
    sentences = prose_sentences(doc, min_words=1)
    assert "setup.configure(): If format is specified, use this style for the format string." in sentences
    assert "setup.configure(): style" not in doc.text
    assert "names: The names of the members for the new type." in doc.text  # one colon, not "names::"
