"""API reference entries written as headings (javadoc, gtk-doc, doxygen, Node.js shapes, hand-made):
the entry's name leads the prose under it, its declaration stays code, and parameter lines are
sentences of their own, labelled by their entry."""

from __future__ import annotations

from ingest.apientries import entry_label
from ingest.formats import Block
from ingest.htmlpage import extract_html

PROSE = "This paragraph explains the module at some length so that the extractor keeps it as main text."


def _blocks(body: str) -> list[Block]:
    intro = f"<p>{PROSE}</p>" * 3  # a page long enough for trafilatura's main extraction, as real pages are
    page = f"<html><head><title>Ref</title></head><body><main><h1>Ref</h1>{intro}{body}</main></body></html>"
    return extract_html(page.encode()).blocks


def _texts(blocks: list[Block], kind: str | None = None) -> list[str]:
    return [b.text for b in blocks if kind is None or b.kind == kind]


def test_entry_labels_of_signature_headings():
    assert entry_label("path.basename(path[, suffix])") == "path.basename()"
    assert entry_label("g_path_get_basename ()") == "g_path_get_basename()"
    assert entry_label("new Console(options)") == "Console()"
    assert entry_label("Static method: Buffer.from(array)") == "Buffer.from()"
    assert entry_label("os.EOL") == "os.EOL"
    assert entry_label("JSON_TOKENER_STRICT") == "JSON_TOKENER_STRICT"


def test_plain_headings_are_no_entries():
    for heading in ("Returns", "Description", "Method Details", "Set A Busy Timeout", "Class: Console"):
        assert entry_label(heading, "Some prose about it follows here.") is None


def test_a_bare_name_is_an_entry_when_its_declaration_follows():
    assert entry_label("of", "public static <T> Optional<T> of(T value)") == "of()"
    assert entry_label("MAX_VALUE", "public static final int MAX_VALUE") == "MAX_VALUE"
    assert entry_label("of", "Of all the options, this one is the best.") is None


def test_node_style_heading_leads_its_prose_and_keeps_its_parameter_lists():
    blocks = _blocks(
        "<section><h3><code>path.basename(path[, suffix])</code><a class='mark' href='#b'>#</a></h3>"
        "<div class='api_metadata'><span>Added in: v0.1.25</span></div><ul><li><code>path</code> <a href='t' "
        "class='type'>&lt;string&gt;</a></li><li><code>suffix</code> <a href='t' class='type'>&lt;string&gt;</a> An "
        "optional suffix to remove</li><li>Returns: <a href='t' class='type'>&lt;string&gt;</a></li></ul>"
        "<p>The <code>path.basename()</code> method returns the last portion of a <code>path</code>.</p></section>"
        "<section><h3><code>new Console(options)</code></h3><ul><li><code>options</code> <a href='t'>&lt;Object&gt;</a>"
        "<ul><li><code>stdout</code> <a href='t'>&lt;stream.Writable&gt;</a></li><li><code>colorMode</code> <a href='t'>"
        "&lt;boolean&gt;</a> Set color support for this instance. <strong>Default:</strong> <code>'auto'</code>.</li>"
        "<li><code>groupIndentation</code> <a href='t'>&lt;number&gt;</a> Set group indentation. <strong>Default:"
        "</strong> <code>2</code>.</li></ul></li></ul>"
        "<p>Creates a new console with one or two writable stream instances.</p></section>"
    )
    texts = _texts(blocks)
    assert "path.basename(): The path.basename() method returns the last portion of a path." in texts
    assert "path.basename(): suffix <string> An optional suffix to remove" in texts
    assert "path.basename(): Returns: <string>" in texts  # a labelled value is led, however short
    assert "Console(): colorMode <boolean> Set color support for this instance. Default: 'auto'." in texts
    assert "Console(): groupIndentation <number> Set group indentation. Default: 2." in texts
    assert "Console(): Creates a new console with one or two writable stream instances." in texts


def test_javadoc_entry_keeps_its_prose_and_declaration():
    blocks = _blocks(
        "<ul class='member-list'><li><section class='detail' id='orElse(T)'><h3>orElse</h3>"
        "<div class='member-signature'><span class='modifiers'>public</span>&nbsp;<span class='return-type'>T"
        "</span>&nbsp;<span class='element-name'>orElse</span><span class='parameters'>(T&nbsp;other)</span></div>"
        "<div class='block'>If a value is present, returns the value, otherwise returns <code>other</code>.</div>"
        "<dl class='notes'><dt>Parameters:</dt><dd><code>other</code> - the value to be returned, if no value is "
        "present</dd><dt>Returns:</dt><dd>the value, if present, otherwise <code>other</code></dd></dl>"
        "</section></li></ul>"
    )
    assert "public T orElse(T other)" in _texts(blocks, "code")
    texts = _texts(blocks)
    assert "orElse(): If a value is present, returns the value, otherwise returns other." in texts
    assert "orElse(): Parameters: other - the value to be returned, if no value is present" in texts
    assert "orElse(): Returns: the value, if present, otherwise other" in texts


def test_gtk_doc_entry_keeps_parameters_and_returns():
    blocks = _blocks(
        "<div class='refsect2'><a name='g-strdup'></a><h3>g_strdup ()</h3>"
        "<pre class='programlisting'>gchar *\ng_strdup (const gchar *str);</pre>"
        "<p>Duplicates a string. If <em><code>str</code></em> is NULL it returns NULL.</p>"
        "<div class='refsect3'><a name='g-strdup.parameters'></a><h4>Parameters</h4><div class='informaltable'>"
        "<table><tbody><tr><td class='parameter_name'><p>str</p></td><td class='parameter_description'><p>the "
        "string to duplicate.</p></td><td class='parameter_annotations'>[nullable]</td></tr></tbody></table></div></div>"
        "<div class='refsect3'><a name='g-strdup.returns'></a><h4>Returns</h4><p>a newly-allocated copy of "
        "<em><code>str</code></em>.</p></div></div>"
    )
    texts = _texts(blocks)
    assert "g_strdup(): Duplicates a string. If str is NULL it returns NULL." in texts
    assert "g_strdup(): Parameters: str: the string to duplicate." in texts
    assert "g_strdup(): Returns: a newly-allocated copy of str." in texts


def test_doxygen_entry_code_fragment_stays_code():
    blocks = _blocks(
        "<h2 class='memtitle'><span class='permalink'><a href='#a1'>&#9670;&nbsp;</a></span>json_parse()</h2>"
        "<div class='memitem'><div class='memdoc'><p>Parse a string into an object, or return NULL on error.</p>"
        "<div class='fragment'><div class='line'>obj = json_parse(text);</div><div class='line'>if (!obj)</div>"
        "<div class='line'>    fail();</div><div class='ttc'>int fail(void)</div></div>"
        "<dl class='params'><dt>Parameters</dt><dd><table class='params'><tr><td class='paramname'>text</td>"
        "<td>the string to parse</td></tr><tr><td class='paramname'>len</td><td>the length of the string in bytes</td></tr></table>"
        "</dd></dl></div></div>"
    )
    assert "obj = json_parse(text);\nif (!obj)\n    fail();" in _texts(blocks, "code")
    texts = _texts(blocks)
    assert "json_parse(): Parse a string into an object, or return NULL on error." in texts
    assert "json_parse(): Parameters: text: the string to parse" in texts
    assert "json_parse(): Parameters: len: the length of the string in bytes" in texts


def test_prose_under_a_plain_heading_is_not_led():
    blocks = _blocks("<h2>Description</h2><p>The functions on this page work with paths of files and folders.</p>")
    assert "The functions on this page work with paths of files and folders." in _texts(blocks)


def test_a_heading_over_c_prototypes_is_the_entry_of_the_functions_they_declare():
    blocks = _blocks(
        "<h2>Closing A Connection</h2><blockquote><pre>\nint widget_close(widget*);\nint widget_close_v2(widget*);\n"
        "</pre></blockquote><p>These routines are destructors for the widget object and free what it holds.</p>"
    )
    assert (
        "widget_close(), widget_close_v2(): These routines are destructors for the widget object and free what it holds."
        in (_texts(blocks))
    )


def test_prototype_labels_need_prototypes_only():
    from ingest.apientries import prototype_label

    assert prototype_label("int sqlite3_exec(\n  sqlite3*,  /* an open database */\n  char **errmsg\n);") == (
        "sqlite3_exec()"
    )
    assert prototype_label("SELECT count(*) FROM films;") is None
    assert prototype_label("git commit --amend") is None


def test_a_summary_copy_of_an_entry_sentence_is_dropped_and_labelled_values_are_led():
    blocks = _blocks(
        "<table><tr><td>int</td><td><a href='#w'>widget_count</a> (void)</td></tr><tr><td></td><td>Count the widgets "
        "that are alive in this process. <a href='#w'>More...</a></td></tr></table>"
        "<h2>widget_count()</h2><p>Count the widgets that are alive in this process.</p>"
        "<dl class='notes'><dt>Since:</dt><dd>11</dd></dl>"
    )
    texts = _texts(blocks)
    assert "widget_count(): Count the widgets that are alive in this process." in texts
    assert not [t for t in texts if t.startswith("Count the widgets")]
    assert "widget_count(): Since: 11" in texts
