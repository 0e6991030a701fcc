"""Site chrome that survives in scraped pages, found by the shape of the page, not by its words.

No list of phrases: a phrase list only knows the sites it was written for. Three rules, each on
the blocks of one document (ingest/formats.py), each kept narrow because a dropped line of a
user's own text is worse than a kept menu label:

- **Navigation above the headline** (scraped plain text only): two or more very short labels (at
  most 3 words, no sentence punctuation) at the very top, right above a headline-like line (5 to 25
  words, no sentence punctuation), are the page's menu ("skip to content", a search box, a section
  name) and are dropped; the headline stays and becomes the title.
- **A listing of other stories at the end.** A short label that repeats verbatim at least three
  times at regular, short intervals up to the end of the document is the button of a teaser list
  ("read more" under each teaser). The list (its first item is as long as the typical one) and the
  labels just above it (the list's heading) are dropped, when what stays is longer than what goes.
- **Repeated lines** (scraped plain text only): a line under 200 characters that already appeared
  at most 3 blocks before (a headline printed twice, an image caption repeated) is kept once; the
  same line in another section (a command shown in two examples) is the author's and stays.

Headings of HTML, Markdown and DOCX are the author's structure: never dropped (but see below).

One rule looks across the documents of a folder (ingest/planning.py gathers them):

- **A folder's header and footer.** A prose block at the top or bottom of at least half of a folder's
  documents (5 or more), digits aside, is the site's chrome (git's "Part of the git(1) suite", SQLite's
  "This page last modified on <date>"): the first document keeps it, the others drop the run of such
  blocks at their edges, and a heading left with nothing under it goes with them. Decided by repetition,
  never by the words.
"""

from __future__ import annotations

import hashlib
import re
from statistics import median

from ingest.formats import Block, ends_sentence

MAX_LABEL_WORDS = 10  # a "label" is a short line without sentence punctuation: a menu entry, a headline
MAX_NAV_WORDS = 3
MIN_WORDY_SHARE = 0.85  # letters and spaces: words, not markup or numbers
MIN_HEADLINE_WORDS = 5
MAX_HEADLINE_WORDS = 25
MIN_REPEATS = 3
MAX_ITEM_BLOCKS = 12  # a teaser is a headline, a caption and a paragraph or two, not a section
MAX_REPEATED_CHARS = 200
REPEAT_WINDOW = 3  # a headline printed twice, a caption under it: a few blocks apart, not in another section


def is_label(block: Block) -> bool:
    """A short line of words without sentence punctuation (not markup such as "----" or "include::x[]")."""
    text = block.text
    words = text.split()
    if block.kind not in {"text", "item"} or len(words) > MAX_LABEL_WORDS or ends_sentence(text):
        return False
    letters = sum(c.isalpha() or c.isspace() for c in text)
    return letters >= MIN_WORDY_SHARE * len(text) and any(sum(c.isalpha() for c in w) >= 2 for w in words)


def remove_boilerplate(blocks: list[Block], scraped: bool) -> tuple[list[Block], int]:
    """The blocks without site chrome, and how many blocks were dropped."""
    drop = _navigation(blocks) if scraped else set()
    start = _listing_start(blocks)
    if start is not None:
        drop.update(range(start, len(blocks)))
    if scraped:
        drop.update(_repeats(blocks))
    return [b for i, b in enumerate(blocks) if i not in drop], len(drop)


def _navigation(blocks: list[Block]) -> set[int]:
    run = 0
    while run < len(blocks) and is_label(blocks[run]) and len(blocks[run].text.split()) <= MAX_NAV_WORDS:
        run += 1
    if run < 2 or run + 1 >= len(blocks):
        return set()
    headline = blocks[run]
    words = len(headline.text.split())
    if ends_sentence(headline.text) or not MIN_HEADLINE_WORDS <= words <= MAX_HEADLINE_WORDS:
        return set()
    return set(range(run))


def _listing_start(blocks: list[Block]) -> int | None:
    positions: dict[str, list[int]] = {}
    for index, block in enumerate(blocks):
        if is_label(block):
            positions.setdefault(block.text.lower(), []).append(index)
    starts = [s for idx in positions.values() if len(idx) >= MIN_REPEATS for s in [_listing(blocks, idx)] if s]
    return min(starts) if starts else None


def _listing(blocks: list[Block], idx: list[int]) -> int | None:
    gaps = [b - a for a, b in zip(idx, idx[1:])]
    if min(gaps) < 2 or max(gaps) > MAX_ITEM_BLOCKS or len(blocks) - 1 - idx[-1] > max(gaps):
        return None  # not items between separators, or the list does not run to the end
    start = max(0, idx[0] - int(median(gaps) - 1))
    while start > 0 and is_label(blocks[start - 1]):
        start -= 1  # the list's heading ("more stories") goes with it
    kept = sum(len(b.text) for b in blocks[:start])
    return start if start > 0 and kept > sum(len(b.text) for b in blocks[start:]) else None


def _repeats(blocks: list[Block]) -> set[int]:
    last: dict[str, int] = {}
    out = set()
    for index, block in enumerate(blocks):
        if block.kind == "code":
            continue
        key = block.text.lower()
        if index - last.get(key, -REPEAT_WINDOW - 1) <= REPEAT_WINDOW and len(block.text) < MAX_REPEATED_CHARS:
            out.add(index)
        last[key] = index
    return out


# -- chrome shared by the documents of one folder ------------------------------------------------------
MIN_FOLDER_DOCS = 5  # with fewer pages, two that share a paragraph would already be "most of the folder"
MIN_SHARED_SHARE = 0.5  # a site's header or footer is on (nearly) every page; an author's shared note is on a few
MAX_EDGE_BLOCKS = 8  # a header or footer is a few blocks at a page's top or bottom; deeper blocks are the page's own
_DIGITS = re.compile(r"\d+")


def block_key(text: str) -> str:
    """A block's fingerprint, digits aside ("This page last modified on 2022-10-26" is one footer on every page)."""
    shape = _DIGITS.sub("0", " ".join(text.split()))
    return hashlib.sha1(shape.encode("utf-8")).hexdigest()[:12]


def edge_keys(blocks: list[Block]) -> list[str]:
    """Fingerprints of the prose blocks near the top and the bottom of a document (headings and code aside)."""
    prose = [b for b in blocks if b.kind in {"text", "item"}]
    edges = prose if len(prose) <= 2 * MAX_EDGE_BLOCKS else prose[:MAX_EDGE_BLOCKS] + prose[-MAX_EDGE_BLOCKS:]
    return list(dict.fromkeys(block_key(b.text) for b in edges))


def shared_edges(folder_docs: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """Per document of one folder (in a stable order), the edge blocks to drop from it.

    A block at the edge of at least MIN_SHARED_SHARE of the folder's documents is chrome. It is indexed
    once: the first document that has it keeps it (a question about the licence of the pages still finds it).
    """
    out = {doc: frozenset() for doc in folder_docs}
    if len(folder_docs) < MIN_FOLDER_DOCS:
        return out
    holders: dict[str, list[str]] = {}
    for doc, keys in folder_docs.items():
        for key in set(keys):
            holders.setdefault(key, []).append(doc)
    shared = {key: docs for key, docs in holders.items() if len(docs) >= MIN_SHARED_SHARE * len(folder_docs)}
    for key, docs in shared.items():
        for doc in docs[1:]:
            out[doc] = out[doc] | {key}
    return out


def remove_shared(blocks: list[Block], drop: frozenset[str]) -> tuple[list[Block], int]:
    """The blocks without the folder's chrome: runs of dropped blocks at the top and at the bottom.

    Headings inside a run are passed over, and dropped only when nothing of their section is left (the
    "GIT" heading over git's "Part of the git(1) suite" footer). A document that would be left empty keeps all.
    """
    if not drop:
        return blocks, 0
    gone: set[int] = set()
    for order in (range(len(blocks)), range(len(blocks) - 1, -1, -1)):
        seen = 0
        for index in order:
            block = blocks[index]
            if block.kind == "heading":
                continue
            if block.kind == "code" or block_key(block.text) not in drop or seen >= MAX_EDGE_BLOCKS:
                break
            gone.add(index)
            seen += 1
    gone |= _emptied_headings(blocks, gone)
    if not gone or all(i in gone or b.kind == "heading" for i, b in enumerate(blocks)):
        return blocks, 0
    return [b for i, b in enumerate(blocks) if i not in gone], len(gone)


def _emptied_headings(blocks: list[Block], gone: set[int]) -> set[int]:
    out: set[int] = set()
    for index in range(len(blocks) - 1, -1, -1):
        heading = blocks[index]
        if heading.kind != "heading":
            continue
        end = next(
            (
                j
                for j in range(index + 1, len(blocks))
                if blocks[j].kind == "heading" and blocks[j].level <= heading.level
            ),
            len(blocks),
        )
        section = range(index + 1, end)
        lost = any(j in gone for j in section)
        if lost and all(j in gone or j in out for j in section):
            out.add(index)
    return out
