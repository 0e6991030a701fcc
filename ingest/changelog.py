"""Changelogs (NEWS, CHANGELOG): each release heading leads the entries under it.

A changelog is a heading per release ("man-db 2.10.0 (4 February 2022)", "Noteworthy changes in release
4.9.0", "## [1.2.0] - 2024-05-01") over bullets that never name it: "Building man-db now requires a C99
compiler." answers "since which version ...?" only with its heading, and a heading is no sentence the
reader can quote. So the release heading leads each paragraph and list entry of its section, through the
lead-in of reference entries (ingest.htmlpage._lead_with, as ingest/apientries.py does for API headings):
"man-db 2.10.0 (4 February 2022): Building man-db now requires a C99 compiler." A label line of the
section ("Fixes:", "Bug Fixes") is not led. A file is a changelog when at least three headings name a
version; its first heading is then a release, not the document's name (the title comes from the file).
"""

from __future__ import annotations

import re

from ingest.formats import Block
from ingest.htmlpage import MAX_TERM_LABEL, _lead_with

_VERSION = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)+[a-z]?(?![\w.])|(?<![\w.])v\d+(?![\w.])")
MIN_RELEASES = 3
MAX_SUBLABEL_WORDS = 4  # "Fixes:", "New features in find:": a label of the entries below, not an entry


def is_release_heading(text: str) -> bool:
    return len(text) <= MAX_TERM_LABEL and bool(_VERSION.search(text))


def is_changelog(blocks: list[Block]) -> bool:
    return sum(1 for b in blocks if b.kind == "heading" and is_release_heading(b.text)) >= MIN_RELEASES


def lead_releases(blocks: list[Block]) -> list[Block]:
    """The blocks with each entry of a release's section led by its (innermost) release heading, and the
    kind of change when a sub-heading or label line under it says it ("..., Bug Fixes: ...")."""
    if not is_changelog(blocks):
        return blocks
    blocks = list(blocks)
    shared = _shared_words([b.text for b in blocks if b.kind == "heading" and is_release_heading(b.text)])
    path: list[tuple[int, str, bool]] = []  # the headings above: level, text, names a release
    kind_of_change = None  # the last label line ("Fixes:") under the current heading
    for index, block in enumerate(blocks):
        if block.kind == "heading":
            text = block.text.strip().rstrip(":").strip()
            release = is_release_heading(text)
            label = _distinct(text, shared) if release else text
            path = [entry for entry in path if entry[0] < block.level] + [(block.level, label, release)]
            kind_of_change = None
            continue
        if block.kind in {"text", "item"} and _sublabel(block.text):
            kind_of_change = block.text.strip().rstrip(":").strip()
            continue
        label = _label(path, kind_of_change)
        if label and block.kind in {"text", "item"}:
            _lead_with(blocks, index, label, index + 1)
    return blocks


def _label(path: list[tuple[int, str, bool]], kind_of_change: str | None) -> str | None:
    """The innermost release heading, with the sub-heading or label line below it that names the kind of
    change ("New features in find", "Fixes"): "what's new in 4.9.0" and "what was fixed" find their words."""
    releases = [i for i, (_, _, release) in enumerate(path) if release]
    if not releases:
        return None
    at = releases[-1]
    below = [text for _, text, _ in path[at + 1 :]] + ([kind_of_change] if kind_of_change else [])
    label = path[at][1]
    if below and len(below[-1].split()) <= MAX_SUBLABEL_WORDS:
        label = f"{label}, {below[-1]}"
    return label


def _shared_words(headings: list[str]) -> set[str]:
    """Words without digits that most release headings share ("Major changes between OpenSSL ... and"):
    as a lead-in they would give every entry of every release the same words to match a question by."""
    counts: dict[str, int] = {}
    for heading in headings:
        for word in {_word(w) for w in heading.split()}:
            counts[word] = counts.get(word, 0) + 1
    return {w for w, n in counts.items() if w and n * 2 >= len(headings) and not any(c.isdigit() for c in w)}


def _distinct(heading: str, shared: set[str]) -> str:
    """The heading without the words all releases share: "man-db 2.10.0 (4 February 2022)" -> "2.10.0 (4
    February 2022)"; the document's title and the section path still name the product."""
    kept = [w for w in heading.split() if _word(w) not in shared]
    return " ".join(kept) if any(_VERSION.search(w) for w in kept) else heading


def _word(token: str) -> str:
    return token.strip("()[]{},:;*").casefold()


def opens_with_release(blocks: list[Block]) -> bool:
    """The changelog's first heading is a release: it does not name the document."""
    first = next((b for b in blocks if b.kind == "heading"), None)
    return first is not None and is_release_heading(first.text) and is_changelog(blocks)


def _sublabel(text: str) -> bool:
    return text.rstrip().endswith(":") and len(text.split()) <= MAX_SUBLABEL_WORDS
