"""Navigation bars and index tables of an HTML page, found by its structure: blocks made of links.

A Sphinx "index | modules | next | previous" bar, a generated index, a table of contents or a menu is
a block whose words are nearly all link text: it points at other pages and says nothing itself, and
indexed as prose it answers questions with lists of titles. Such a block (a list, table, definition
list, <nav>, paragraph, or a <div> holding only inline content) with at least MIN_LINKS links and at
least MIN_LINK_SHARE of its letters and digits inside them is dropped before the main text is extracted.
A paragraph that cites a few links, a table of names with descriptions, a list of links with a sentence
each: all under the share, all kept.
"""

from __future__ import annotations

MIN_LINKS = 3  # one or two linked words are a citation in a sentence, not a menu
MIN_LINK_SHARE = 0.8  # prose that links a lot still has its own verbs and connecting words
BLOCK_TAGS = ("ul", "ol", "table", "dl", "nav", "p", "div")
BLOCK_CHILDREN = {"p", "div", "ul", "ol", "table", "dl", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "section"}


def drop_link_blocks(doc) -> int:
    """Remove the link-only blocks of a parsed page (outermost first); how many were removed."""
    gone = 0
    for element in list(doc.iter(*BLOCK_TAGS)):
        if element.getparent() is None or _inside_dropped(element, doc):
            continue
        if element.tag == "div" and any(child.tag in BLOCK_CHILDREN for child in element.iterdescendants()):
            continue  # a layout box: its blocks are judged one by one
        if is_link_block(element):
            element.drop_tree()  # its tail text (between blocks) stays
            gone += 1
    return gone


def is_link_block(element) -> bool:
    links = element.xpath(".//a[@href]")
    if len(links) < MIN_LINKS:
        return False
    total = _signal(element.text_content())
    linked = sum(_signal(a.text_content()) for a in links)
    return total > 0 and linked >= MIN_LINK_SHARE * total


def _signal(text: str) -> int:
    return sum(c.isalnum() for c in text)


def _inside_dropped(element, doc) -> bool:
    """True when an ancestor was dropped already (the element now hangs in a detached tree)."""
    return element.getroottree().getroot() is not doc.getroottree().getroot()
