"""API reference entries that are headings: a heading naming a function, method or constant leads the
prose under it.

Most generators other than Sphinx (javadoc, gtk-doc, doxygen, Node.js) write an entry as a heading that
is a signature (`path.basename(path[, suffix])`, `g_strdup ()`, `json_tokener_parse()`), or a bare name
followed by its declaration (`<h3>valueOf</h3>` then `public static String valueOf(int i)`), then a
parameter list, "Returns: ...", and prose ("The method returns ..."). None of those sentences names the
entry, so "which function gives me the file name of a path" finds a sentence that never answers it. The
entry's name ("path.basename()") leads every prose block of its section, as a Sphinx `<dt>` does (the
same lead-in, see ingest.htmlpage._lead_with and rag.leads), and its declaration is kept as code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.formats import Block, strip_permalinks
from ingest.navigation import BLOCK_CHILDREN

_NAME = r"[A-Za-z_$][\w$]*(?:(?:\.|::|#|->)[A-Za-z_$][\w$]*)*"
# "path.basename(path[, suffix])", "g_strdup ()", "new Console(options)", "Static method: Buffer.from(x)"
SIGNATURE = re.compile(rf"^(?:[A-Z][a-z]+(?: [a-z]+)?: )?(?:new\s+)?(?P<name>{_NAME})\s*(?P<args>\(.*\))?;?$")
_CODE_SHAPED = re.compile(r"[._$#:]|->|[a-z][A-Z]|^[A-Z][A-Z0-9]*_")  # a dot, an underscore, camelCase, CONST_
MAX_SUBHEADING_WORDS = 3  # "Returns", "Return value", "See also": a label of the entry's part, not a topic
MAX_DECLARATION = 300
MAX_PROTOTYPE_LINES = 12
MAX_LABEL = 80  # as ingest.htmlpage.MAX_TERM_LABEL
MIN_SUMMARY_WORDS = 5  # a shorter line is too common to be a summary's copy
# a C prototype's first line: return type words, the name, its opening parenthesis
PROTOTYPE = re.compile(
    r"^\s*(?:[A-Za-z_]\w*[\s*]+)+\**(?P<name>[A-Za-z_]\w*)\s*\((?:.*\)\s*;|[^)]*)\s*$"
)  # a declaration longer than this is prose that happens to name the entry


def entry_label(heading: str, following: str = "") -> str | None:
    """The name an entry heading documents ("path.basename()", "os.EOL"), or None for a heading of prose.

    "()" marks a callable: the heading has an argument list, or (a bare name such as javadoc's "of")
    the declaration after it calls the name. A plain word ("Returns", "Description") is no entry."""
    match = SIGNATURE.match(" ".join(heading.split()))
    if match is None:
        return None
    name = match.group("name")
    if match.group("args") is not None:
        return f"{name}()"
    if _declares(following, name):
        return f"{name}()" if re.search(rf"(?<![\w$]){re.escape(name)}\s*\(", following) else name
    return name if _CODE_SHAPED.search(name) else None


def _declares(text: str, name: str) -> bool:
    """`text` is a declaration of `name` ("public static <T> T requireNonNullElse(T obj, T defaultObj)"),
    not a sentence."""
    return (
        0 < len(text) <= MAX_DECLARATION
        and not text.rstrip().endswith((".", "!", "?", ":"))
        and bool(re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text))
    )


def lead_entries(blocks: list[Block], lead: Callable[[list[Block], int, str, int], None]) -> list[Block]:
    """Each entry heading's name leads the prose of its section, and the declaration right after it
    becomes code. The section ends at the next heading of its level or above, or at the next entry; under a
    short sub-heading ("Returns", "Parameters") the lead-in names both ("g_strdup(): Returns: ...").

    `lead(blocks, start, label, stop)` is the definition-list lead-in of ingest.htmlpage, so both kinds of
    entry read alike."""
    blocks = list(blocks)
    labels = [_label_at(blocks, i) for i in range(len(blocks))]
    for index, label in enumerate(labels):
        if label is None:
            continue
        level = blocks[index].level
        stop = next(
            (
                j
                for j in range(index + 1, len(blocks))
                if blocks[j].kind == "heading" and (blocks[j].level <= level or labels[j] is not None)
            ),
            len(blocks),
        )
        following = blocks[index + 1] if index + 1 < stop else None
        if following is not None and following.kind == "text" and _declares(following.text, label.removesuffix("()")):
            blocks[index + 1] = Block("code", following.text, following.level)
        _lead_section(blocks, index + 1, stop, label, lead)
    return _without_summaries(blocks)


def _label_at(blocks: list[Block], index: int) -> str | None:
    block = blocks[index]
    if block.kind != "heading":
        return None
    following = blocks[index + 1] if index + 1 < len(blocks) and blocks[index + 1].kind != "heading" else None
    label = entry_label(block.text, following.text if following is not None else "")
    if label is None and following is not None and following.kind == "code":
        return prototype_label(following.text)
    return label


def prototype_label(code: str) -> str | None:
    """The functions a code block declares, when it is only C prototypes (`int sqlite3_close(sqlite3*);`
    under SQLite's "Closing A Database Connection"): "sqlite3_close(), sqlite3_close_v2()"."""
    lines = [line for line in code.splitlines() if line.strip()]
    heads = [line for line in lines if not line[:1].isspace() and not line.lstrip().startswith((")", "/*"))]
    if not heads or len(lines) > MAX_PROTOTYPE_LINES:
        return None
    names = []
    for line in heads:
        match = PROTOTYPE.match(line)
        if match is None:
            return None
        names.append(f"{match.group('name')}()")
    label = ", ".join(dict.fromkeys(names))
    return label if len(label) <= MAX_LABEL else None


def _without_summaries(blocks: list[Block]) -> list[Block]:
    """A summary table's description (javadoc's method summary, doxygen's member list: "Given an error
    ... of the error. More...") repeats the first words of its entry's led prose: the unled copy goes, so
    that the sentence is read, and quoted, with its entry's name. A data table's rows are items by then
    (ingest.tables), so a summary row is one too."""
    led = [b.text.partition(": ")[2] for b in blocks if getattr(b, "label", "")]
    out = []
    for block in blocks:
        if block.kind in ("text", "item") and not getattr(block, "label", "") and _repeats(block.text, led):
            continue
        out.append(block)
    return out


def _repeats(text: str, led: list[str]) -> bool:
    head, _, tail = text.rpartition(". ")
    whole = f"{head}." if head and len(tail.split()) <= 2 else text  # without its link ("More...", "More")
    return len(whole.split()) >= MIN_SUMMARY_WORDS and any(rest.startswith(whole) for rest in led)


def _lead_section(blocks: list[Block], start: int, stop: int, label: str, lead) -> None:
    """Lead [start, stop) with the label, each short sub-heading's part with "label: Sub-heading"."""
    cuts = [i for i in range(start, stop) if blocks[i].kind == "heading"]
    for lo, hi in zip([start, *cuts], [*cuts, stop]):
        sub = blocks[lo].text.rstrip(":") if lo in cuts else ""
        part_label = f"{label}: {sub}" if sub and len(sub.split()) <= MAX_SUBHEADING_WORDS else label
        lead(blocks, lo, part_label, hi)


def paragraphs_of_inline_divs(doc) -> None:
    """A `<div>` holding only text and inline elements is a paragraph: javadoc writes every description
    so (`<div class="block">Returns the first argument if it is non-<code>null</code> ...</div>`), and
    trafilatura kept only its inline code of it, as loose fragments."""
    for div in doc.iter("div"):
        if div.text_content().strip() and not any(child.tag in BLOCK_CHILDREN for child in div.iterdescendants()):
            div.tag = "p"


def drop_empty_anchors(doc) -> None:
    """`<a name="g-strdup.returns"></a>` marks a link target and holds no text; gtk-doc opens each
    "Parameters" and "Returns" part with one, and trafilatura then dropped the part whole."""
    for anchor in doc.xpath("//a[not(@href)][not(*)]"):
        if not (anchor.text or "").strip():
            anchor.drop_tree()  # its tail text stays


def code_of_line_divs(doc) -> None:
    """doxygen writes a code example as `<div class="fragment">` of one `<div class="line">` per line
    (then its hover boxes, hidden `<div>`s that repeat declarations): it is a code block (`<pre>`) of
    its lines, not a paragraph per line."""
    import lxml.html

    for box in doc.xpath("//div[count(div) >= 2][not(*[not(self::div)])]"):
        lines = [child for child in box if "line" in (child.get("class") or "").split()]
        if len(lines) < 2 or lines != list(box)[: len(lines)]:
            continue
        pre = lxml.html.Element("pre")
        pre.text = "\n".join(line.text_content() for line in lines)
        pre.tail = box.tail
        box.getparent().replace(box, pre)


def lists_of_parameter_tables(doc) -> None:
    """A table of parameters (first cells classed as parameter names: gtk-doc `parameter_name`, doxygen
    `paramname`) becomes a list of "name: description" entries, one sentence each: trafilatura ran the
    cells of doxygen's into one line and dropped gtk-doc's."""
    import lxml.html
    from lxml.etree import SubElement

    for table in doc.xpath("//table[.//td[1][contains(@class, 'param')]]"):
        rows = [row.xpath("./td") for row in table.xpath(".//tr")]
        if not rows or any(len(cells) < 2 or "param" not in (cells[0].get("class") or "") for cells in rows):
            continue
        listing = lxml.html.Element("ul")
        for cells in rows:
            entry = SubElement(listing, "li")
            name = SubElement(entry, "code")
            name.text = " ".join(cells[0].text_content().split())
            name.tail = ": " + " ".join(cells[1].text_content().split())
        listing.tail = table.tail
        table.getparent().replace(table, listing)


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def unlink_entry_lists(doc) -> None:
    """The parameter list of an entry heading keeps its words: each type in Node.js's
    (`<li><code>suffix</code> <a>&lt;string&gt;</a> An optional suffix to remove</li>`) is a link, and
    trafilatura dropped the list as a menu. Menus are dropped before (ingest.navigation), so the links
    of such a list are unwrapped to their text."""
    for heading in doc.iter(*_HEADINGS):
        after = [el for el in heading.itersiblings() if isinstance(el.tag, str)]
        section = []
        for element in after:
            if element.tag in _HEADINGS or element.find(".//h1") is not None or element.xpath(".//h2|.//h3|.//h4"):
                break
            section.append(element)
        first = next((el.text_content() for el in section if el.text_content().strip()), "")
        if entry_label(strip_permalinks(" ".join(heading.text_content().split())), " ".join(first.split())) is None:
            continue
        for element in section:
            lists = [element] if element.tag in ("ul", "ol", "dl") else element.xpath(".//ul | .//ol | .//dl")
            for listing in lists:
                for link in listing.xpath(".//a"):
                    link.drop_tag()
