"""HTML pages -> structured blocks (headings, prose, list entries, code, tables).

trafilatura extracts the main text (navigation, footers and sidebars dropped) after permalink marks
are removed and code blocks are swapped for placeholders (trafilatura flattens code inside lists and
quotes), so that its XML output keeps headings, paragraphs and code apart; the code is put back
verbatim afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.apientries import (
    code_of_line_divs,
    drop_empty_anchors,
    lead_entries,
    lists_of_parameter_tables,
    paragraphs_of_inline_divs,
    unlink_entry_lists,
)
from ingest.formats import (
    PERMALINK_MARKS,
    Block,
    Extracted,
    FormatError,
    declared_charset,
    decode,
    ends_sentence,
    strip_permalinks,
)
from ingest.formats import add_block as _add
from ingest.navigation import drop_link_blocks
from ingest.tables import layout_text, rewrite_data_tables

CODE_TOKEN = "QQCITEBOTCODE"
_CODE_TOKEN_RE = re.compile(CODE_TOKEN + r"(\d+)X")
_REFRESH_URL = re.compile(r"url\s*=\s*(\S+)", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")  # XHTML (DocBook manuals): lxml refuses it in a str
_EXPONENT = re.compile(r"[-−]?\d+")
_TOKENS = re.compile(CODE_TOKEN + r"\d+X")
_LEADING_TOKENS = re.compile(rf"^(?:\s*{CODE_TOKEN}\d+X)*\s*")
_DOTTED_NAME = re.compile(r"[A-Za-z_][\w.]*")
_SIGNATURE_XPATH = "//dl/dt[contains(concat(' ', normalize-space(@class), ' '), ' sig ')]"
MAX_TERM_LABEL = 80  # a definition-list term up to this long leads its definition's paragraphs
_LABELLED_VALUE = re.compile(r"^[A-Z][\w ]{0,30}: \S")
MIN_LED_WORDS = 4  # a shorter block without a full stop is a label ("Format"), not a sentence to lead
MAX_STUB_WORDS = 40  # "This page has moved to ..., click here if you are not redirected": a stub, not a page


def extract_html(raw: bytes) -> Extracted:
    import trafilatura
    from lxml import etree

    html, codes = _prepare_html(decode(raw, declared_charset(raw)))
    xml = trafilatura.extract(
        html,
        output_format="xml",
        include_formatting=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        with_metadata=True,
        favor_recall=True,
    )
    if not xml:
        raise FormatError("no main text found in the HTML")
    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    blocks: list[Block] = []
    _walk(main if main is not None else root, blocks)
    blocks = lead_entries(_restore_code(blocks, codes), _lead_with)
    blocks = [Block(b.kind, b.text, b.level) for b in blocks]
    meta = {
        "title": strip_permalinks(root.get("title") or "") or None,
        "date": root.get("date"),
        "publisher": root.get("sitename") or root.get("hostname"),
        "url": root.get("source") or root.get("url"),
    }
    return Extracted(blocks, meta)


def _prepare_html(html: str) -> tuple[str, list[Block]]:
    """Drop permalink anchors; swap code blocks and headings for placeholders (see _lift)."""
    import lxml.html

    try:
        doc = lxml.html.document_fromstring(_XML_DECLARATION.sub("", html, count=1))
    except (ValueError, lxml.etree.ParserError):
        return html, []
    _refuse_stub(doc)
    _drop_controls(doc)
    _separate_code_flavours(doc)
    _close_broken_lists(doc)
    drop_link_blocks(doc)
    unlink_entry_lists(doc)
    drop_empty_anchors(doc)
    code_of_line_divs(doc)
    lists_of_parameter_tables(doc)
    paragraphs_of_inline_divs(doc)
    _mark_exponents(doc)
    rewrite_data_tables(doc)
    _flatten_inline_code(doc)
    for anchor in doc.xpath("//a[contains(concat(' ', normalize-space(@class), ' '), ' headerlink ')]"):
        anchor.drop_tree()
    for anchor in doc.xpath("//a[not(*)]"):
        if (anchor.text or "").strip() and (anchor.text or "").strip() in PERMALINK_MARKS:
            anchor.drop_tree()
    for label in doc.xpath("//p[contains(concat(' ', normalize-space(@class), ' '), ' admonition-title ')]"):
        _merge_label(label)
    for label in _admonition_headings(doc):
        _merge_label(label)
    for quote in doc.xpath("//blockquote[.//pre]"):
        quote.tag = "div"
    lifted: list[Block] = []
    _name_signatures(doc, lifted)
    for pre in doc.xpath("//pre"):
        code = pre.text_content().strip("\n")
        if not code.strip():
            pre.drop_tree()
            continue
        _lift(pre, Block("code", code), lifted)
    for heading in doc.xpath("//h1 | //h2 | //h3 | //h4 | //h5 | //h6"):
        words = strip_permalinks(" ".join(heading.text_content().split()))
        if words:
            _lift(heading, Block("heading", words, int(heading.tag[1])), lifted)
    return lxml.html.tostring(doc, encoding="unicode"), lifted


_LIST_TAGS = frozenset({"dl", "ul", "ol", "li", "dt", "dd"})


def _drop_controls(doc) -> None:
    """Buttons and form controls are page furniture, never text: Node.js's API pages end every code
    block with a "copy" button (stored as "myEmitter.emit('event');copy")."""
    for control in doc.xpath("//button | //input | //select | //textarea"):
        control.drop_tree()


def _separate_code_flavours(doc) -> None:
    """A code block showing the same example twice (`<pre><code class="mjs">...</code><code
    class="cjs">...</code></pre>`, one of them shown by a toggle) keeps its variants apart on their own
    lines instead of running one into the next."""
    for pre in doc.xpath("//pre[count(code) > 1]"):
        for code in pre.findall("code")[:-1]:
            code.tail = "\n\n" + (code.tail or "")


def _close_broken_lists(doc) -> None:
    """A heading inside a list stands in one left unclosed: the parser nested the rest of the page inside
    it (SQLite's C reference: a `<dl>` without `</dl>` held 66 of its entries), and trafilatura then moved
    the list's items away from their headings. The heading and everything after it leave the list, in page
    order, as if the list had been closed right before it."""
    for heading in doc.xpath("//h1 | //h2 | //h3 | //h4 | //h5 | //h6"):
        while True:
            node = heading
            while node.getparent() is not None and node.getparent().tag not in _LIST_TAGS:
                node = node.getparent()
            holder = node.getparent()
            if holder is None or holder.getparent() is None:
                break
            after = holder.getparent().index(holder) + 1
            for offset, moved in enumerate([node, *node.itersiblings()]):
                holder.getparent().insert(after + offset, moved)


def _lift(element, block: Block, lifted: list[Block]) -> None:
    """Swap an element for a placeholder paragraph that trafilatura keeps; the block goes back in afterwards.

    Code: trafilatura flattens it inside lists and quotes. Headings: it drops them from long DocBook
    sections (PostgreSQL, Debian manuals), and the chunks would lose their section path.
    """
    import lxml.html

    replacement = lxml.html.Element("p")
    replacement.text = f" {CODE_TOKEN}{len(lifted)}X "
    replacement.tail = element.tail
    lifted.append(block)
    element.getparent().replace(element, replacement)


def _mark_exponents(doc) -> None:
    """`2<sup>31</sup>-1` reads "2^31-1", not "231-1": a raised number right after a digit is a power.

    A raised number after a word (`claim<sup>3</sup>`) is a footnote mark and stays as it is.
    """
    for sup in doc.iter("sup"):
        if _EXPONENT.fullmatch(sup.text_content().strip()) and _text_before(sup)[-1:].isdigit():
            sup.text = "^" + (sup.text or "").lstrip()


def _text_before(element) -> str:
    node = element
    while node is not None:
        previous = node.getprevious()
        if previous is not None:
            return previous.tail or previous.text_content()
        parent = node.getparent()
        if parent is not None and parent.text:
            return parent.text
        node = parent
    return ""


def _name_signatures(doc, lifted: list[Block]) -> None:
    """Sphinx API entries: `<dt class="sig">textwrap.dedent(text)</dt>` becomes the API's name
    ("textwrap.dedent()") followed by the signature lifted as code, so the name can lead the sentences
    of its `<dd>` (see _walk_list) while the full signature stays verbatim."""
    for term in doc.xpath(_SIGNATURE_XPATH):
        name = api_name(term)
        if name is None:
            continue
        signature = strip_permalinks(" ".join(term.text_content().split()))
        for child in list(term):
            term.remove(child)
        term.text = f"{name} {CODE_TOKEN}{len(lifted)}X"
        lifted.append(Block("code", signature))


def api_name(term) -> str | None:
    """The qualified name a Sphinx signature documents: its anchor id ("pathlib.PurePath.parent"), else
    its shown prefix and name; "()" marks a callable (the signature has parentheses)."""
    anchor = term.get("id") or ""
    if not _DOTTED_NAME.fullmatch(anchor):
        anchor = "".join(
            "".join(span.itertext())
            for span in term.xpath(".//*[contains(@class, 'sig-prename') or contains(@class, 'sig-name')]")
        ).strip()
    if not _DOTTED_NAME.fullmatch(anchor):
        return None
    callable_ = term.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' sig-paren ')]")
    return f"{anchor}()" if callable_ else anchor


def _refuse_stub(doc) -> None:
    """A frameset or a redirect page has no text of its own: say where the text is instead of indexing "moved"."""
    frames = [f.get("src") for f in doc.xpath("//frame[@src] | //iframe[@src]") if f.get("src")]
    if doc.xpath("//frameset"):
        raise FormatError(f"an HTML frameset: its text is in the frame pages ({', '.join(frames[:3])}); ingest those")
    refresh = doc.xpath("//meta[translate(@http-equiv, 'REFSH', 'refsh')='refresh']/@content")
    target = _REFRESH_URL.search(refresh[0]) if refresh else None
    body = doc.find("body")
    words = len((body.text_content() if body is not None else "").split())
    if target and words <= MAX_STUB_WORDS:
        raise FormatError(f"a redirect page to {target.group(1).strip(chr(39) + chr(34))}: ingest that page instead")


def _merge_label(label) -> None:
    """ "Note" / "See also" above a paragraph becomes the paragraph's lead-in ("Note: ..."), not a line."""
    words = " ".join(label.text_content().split()).rstrip(":")
    following = label.getnext()
    if words and following is not None and following.tag == "p":
        following.text = f"{words}: {following.text or ''}"
    label.drop_tree()


def _admonition_headings(doc) -> list:
    """DocBook's `<div class="note"><h3 class="title">Note</h3><p>...`: a heading that only repeats its
    box's class is the box's label, not a section (else every note would become a section "Note")."""
    found = []
    for heading in doc.xpath("//div[@class]/*[self::h2 or self::h3 or self::h4 or self::h5 or self::h6][1]"):
        box = heading.getparent()
        words = " ".join(heading.text_content().split()).lower()
        if words and words in box.get("class", "").lower().split() and heading.getprevious() is None:
            found.append(heading)
    return found


def _flatten_inline_code(doc) -> None:
    """`<code>-n <em><code>schema</code></em></code>` becomes plain `<code>-n schema</code>`.

    trafilatura moves nested inline elements of code out of place ("-n or schema-t . table"), so the
    placeholders of command options would be lost from the sentence."""
    for code in doc.xpath("//code[*][not(ancestor::pre)][not(ancestor::code)]"):
        text, tail = code.text_content(), code.tail
        for child in list(code):
            code.remove(child)
        code.text, code.tail = text, tail


def _restore_code(blocks: list[Block], codes: list[Block]) -> list[Block]:
    """Put the verbatim code and the headings back where their placeholders landed, as blocks of their own."""
    if not codes:
        return blocks
    out: list[Block] = []
    for block in blocks:
        if CODE_TOKEN not in block.text:
            out.append(block)
            continue
        for index, piece in enumerate(_CODE_TOKEN_RE.split(block.text)):
            if index % 2:
                out.append(codes[int(piece)])
            elif piece.strip() and block.kind != "code":
                out.append(Block(block.kind, " ".join(piece.split()), block.level))
    return out


def _walk(element, blocks: list[Block]) -> None:
    for child in element:
        tag = child.tag
        if tag == "head":
            level = (
                int((child.get("rend") or "h2").lstrip("h") or 2) if (child.get("rend") or "").startswith("h") else 2
            )
            _add(blocks, "heading", strip_permalinks(_inline(child)), level)
        elif tag == "code":
            _add(blocks, "code", "".join(child.itertext()).strip("\n"))
        elif tag in {"p", "quote"}:
            if _is_code_paragraph(child):
                _add(blocks, "code", "".join(child.itertext()).strip("\n"))
            else:
                _add(blocks, "text", _inline(child))
        elif tag == "list":
            _walk_list(child, blocks)
        elif tag == "item":
            _walk_item(child, blocks)
        elif tag == "table":
            rows = [[_inline(cell) for cell in row] for row in child.iter("row")]
            rows = [row for row in rows if any(row)]
            box = layout_text(rows)
            if box is not None:
                _add(blocks, "text", box)
            else:
                _add(blocks, "code", "\n".join(" | ".join(row) for row in rows))
        elif tag in {"div", "main", "doc", "section"}:
            _walk(child, blocks)
        elif tag not in {"graphic", "ref", "lb", "comments"}:
            _add(blocks, "text", _inline(child))


def _walk_list(element, blocks: list[Block]) -> None:
    """A list; in a definition list, short terms ("-k, --keep-index", "textwrap.dedent()") lead each
    paragraph they define.

    The definition's sentences would otherwise never name what they describe, so a question about
    the option could not be answered (or cited) from them. Signatures and long terms stay code.
    """
    terms: list[str] = []
    for item in element:
        if item.tag == "item" and (item.get("rend") or "").startswith("dt"):
            terms.append(strip_permalinks(_inline(item)))
            continue
        label = _term_label(terms)
        for term in terms:
            # a lifted signature stays code under its name's label; an unlabelled term is code itself
            _add(blocks, "code", term if label is None else " ".join(_TOKENS.findall(term)))
        start = len(blocks)
        if item.tag == "item":
            _walk_item(item, blocks)
        else:
            _walk([item], blocks)
        if label is not None:
            # a term written with its colon ("Since:", javadoc) labels a bare value too ("Since: 11")
            _lead_with(blocks, start, label, values=all(t.endswith(":") for t in terms))
        terms = []
    for term in terms:
        _add(blocks, "code", term)


def _walk_item(item, blocks: list[Block]) -> None:
    if (item.get("rend") or "").startswith("dt"):  # an API signature or a term: kept verbatim, not prose
        _add(blocks, "code", strip_permalinks(_inline(item)))
    elif _holds_blocks(item):
        _walk(item, blocks)
    elif item.find("list") is not None:
        _walk_nested_item(item, blocks)
    else:
        _add(blocks, "item", _inline(item))


def _walk_nested_item(item, blocks: list[Block]) -> None:
    """An entry with a list inside (`options <Object>` and its options, each with its "Default: ..."):
    the entry's own words are one item and each nested entry another, not one run-on line."""
    own = [child for child in item if child.tag != "list"]
    words = " ".join(" ".join([item.text or "", *(_inline(c) + " " + (c.tail or "") for c in own)]).split())
    if words:
        _add(blocks, "item", words)
    for child in item:
        if child.tag == "list":
            _walk_list(child, blocks)


def _holds_blocks(item) -> bool:
    """An entry made of paragraphs, lists, code blocks...; not one of prose with inline code in it
    (`<li><code>node.console</code>: Enables capture of ...</li>` is one entry, not a code block)."""
    if not len(item) or (item.text or "").strip() or any((c.tail or "").strip() for c in item):
        return False
    return all(c.tag in {"p", "list", "code", "quote", "table", "head"} for c in item)


def _term_label(terms: list[str]) -> str | None:
    """The terms as a lead-in, without their lifted signatures; none when long or holding parameters."""
    names = [" ".join(_CODE_TOKEN_RE.sub("", t).split()).rstrip(":") for t in terms]
    label = ", ".join(dict.fromkeys(n for n in names if n))
    if not label or len(label) > MAX_TERM_LABEL or "(" in label.replace("()", ""):
        return None
    return label


def _lead_with(blocks: list[Block], start: int, label: str, stop: int | None = None, values: bool = False) -> None:
    """Lead the prose blocks from `start` with the label, after any code placeholder they open with.

    A block of placeholders or a table cell's label is not led ("label:" alone would become a
    sentence). A block led by a term of its own is led again ("submodule.<name>.ignore: all: ..."),
    unless its term already names this one ("json.JSONDecoder.decode()" inside "json.JSONDecoder()")."""
    for index in range(start, len(blocks) if stop is None else stop):
        block = blocks[index]
        opening = _LEADING_TOKENS.match(block.text).group(0)
        rest = block.text[len(opening) :]
        says = _says_something(rest) or (values and bool(rest.strip()) and CODE_TOKEN not in rest)
        if block.kind not in {"text", "item"} or not says or rest.startswith(label):
            continue
        if isinstance(block, _LedBlock) and block.label.startswith(label.removesuffix("()")):
            continue
        blocks[index] = _LedBlock(block.kind, f"{opening}{label}: {rest}", block.level, label)


def _says_something(text: str) -> bool:
    """A sentence, or a labelled value ("Since: 11", "Returns: <string>"), not a table cell's label
    ("Format", "filename") or a placeholder alone."""
    words = _TOKENS.sub("", text).strip()
    return ends_sentence(words) or len(words.split()) >= MIN_LED_WORDS or bool(_LABELLED_VALUE.match(words))


@dataclass
class _LedBlock(Block):
    """A block led by a term (`label`); extract_html returns plain Blocks."""

    label: str = ""


def _is_code_paragraph(element) -> bool:
    return (
        len(element) == 1
        and element[0].tag == "code"
        and not (element.text or "").strip()
        and "\n" in "".join(element[0].itertext())
    )


def _inline(element) -> str:
    """An element's text with hard line breaks joined (HTML wraps lines where the source did); a label
    ending in a colon keeps its space before the next element ("Default: 'auto'", not "Default:'auto'")."""
    pieces = list(element.itertext())
    joined = "".join(
        f"{piece} " if piece.endswith(":") and i + 1 < len(pieces) and pieces[i + 1][:1].strip() else piece
        for i, piece in enumerate(pieces)
    )
    return " ".join(joined.split())
