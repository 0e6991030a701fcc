"""Headings of plain-text notes: the structure a .txt README, NEWS file or text export is written in.

Plain text has no markup, but its writers follow a few conventions that every reader sees as headings:
an underlined line (`Title` over `=====`, setext style, optionally overlined too), the stars of an Emacs
outline (GNU NEWS files: `* Release 4.9.0`, `** Bug Fixes`), and the flush-left lines of a text export
whose body is indented (`Chapter 2. Users and Groups` above paragraphs indented by three spaces). A heading
is always a paragraph of its own line, so a wrapped sentence is never taken for one. The text between
headings is read as before (ingest.formats.text_blocks: hard-wrapped lines joined), with the wrap width of
the whole file. Rule lines (`------`, `*****`, `_____`) are layout, not text.
"""

from __future__ import annotations

import re

from ingest.formats import Block, text_blocks, wrap_width

_RULE = re.compile(r"^\s*([=\-~^*#+_])\1{2,}\s*$")  # a line of one repeated punctuation character
_BULLET = re.compile(r"^[-*+•]\s+")  # as ingest.formats._starts_item, numbers aside (they count)
_OUTLINE = re.compile(r"^(\*+)\s+(\S.*)$")  # Emacs outline line, at column 0
MAX_HEADING_CHARS = 80
MAX_HEADING_WORDS = 10
MIN_OUTLINE_SUBHEADINGS = 2  # "** " lines that show a file is an outline (a "* " alone may be a bullet)
MIN_INDENTED_SHARE = 0.6  # of the prose lines, for flush-left lines to be headings
MAX_TERM_WORDS = 5
MIN_TERM_INDENT_STEP = 2  # a definition's text is indented at least this much deeper than its term


def plain_text_blocks(text: str) -> list[Block]:
    """Blocks of a plain-text file: headings found by the conventions above, paragraphs between them."""
    lines = _led_definitions(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    headings = _headings(lines)
    if _outline(lines):
        lines = _outline_entries(lines, headings)
    if not headings:
        return _entries(text_blocks("\n".join(_without_rules(lines))))
    width = wrap_width([line.strip() for line in lines])
    blocks: list[Block] = []
    start = 0
    for index in sorted(headings):
        first, last, level, title = headings[index]
        blocks += text_blocks("\n".join(_without_rules(lines[start:first])), width)
        blocks.append(Block("heading", title, level))
        start = last + 1
    blocks += text_blocks("\n".join(_without_rules(lines[start:])), width)
    return _entries(blocks)


def _entries(blocks: list[Block]) -> list[Block]:
    """A bulleted paragraph is a list entry, without its bullet (as Markdown's are)."""
    return [Block("item", _BULLET.sub("", b.text)) if b.kind == "text" and _BULLET.match(b.text) else b for b in blocks]


def _headings(lines: list[str]) -> dict[int, tuple[int, int, int, str]]:
    """line index -> (first line, last line, level, text) of each heading; underlines and outlines win
    over flush-left lines, which are only looked for in a file with neither."""
    found = _underlined(lines)
    found.update({i: h for i, h in _outline(lines).items() if i not in found})
    found = found or _flush_left(lines)
    if found and any(line.strip() and not _RULE.match(line) for line in lines[: found[min(found)][0]]):
        # text above the first heading: it is a section, not the file's title (ingest.loaders.assemble
        # names a document by its first level-1 heading)
        found = {index: (first, last, level + 1, title) for index, (first, last, level, title) in found.items()}
    return found


def _alone(lines: list[str], index: int) -> bool:
    """The line is a paragraph of its own: a blank line (or a rule, or the file's edge) above it."""
    above = lines[index - 1] if index > 0 else ""
    return not above.strip() or bool(_RULE.match(above))


def _heading_like(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= MAX_HEADING_WORDS and len(line.strip()) <= MAX_HEADING_CHARS and not _RULE.match(line)


def _underlined(lines: list[str]) -> dict[int, tuple[int, int, int, str]]:
    """`Title` over a rule at least half its length; the level is the order in which each underline
    character (with or without an overline) first appears, as reStructuredText reads them."""
    styles: list[tuple[str, bool]] = []
    found = {}
    for index in range(len(lines) - 1):
        line, under = lines[index], _RULE.match(lines[index + 1])
        if not under or not _heading_like(line) or not _alone(lines, index):
            continue
        if len(lines[index + 1].strip()) < 0.5 * len(line.strip()):
            continue
        overlined = index > 0 and bool(_RULE.match(lines[index - 1]))
        style = (under.group(1), overlined)
        if style not in styles:
            styles.append(style)
        first = index - 1 if overlined else index
        found[index] = (first, index + 1, styles.index(style) + 1, line.strip())
    return found


def _outline(lines: list[str]) -> dict[int, tuple[int, int, int, str]]:
    """Emacs outline headings, in a file that has at least two second-level ones: a star line that is
    short and does not end a sentence ("** Bug Fixes"); a longer one is an entry ("*** Added new action
    -delete which deletes things that find matches."), see _outline_entries."""
    headings = {
        index: (index, index, len(match.group(1)), match.group(2).strip())
        for index, line in enumerate(lines)
        if (match := _OUTLINE.match(line))
        and _heading_like(match.group(2))
        and not _ends_sentence(match.group(2))
        and not _continued(lines, index)
    }
    if sum(1 for _, _, level, _ in headings.values() if level >= 2) < MIN_OUTLINE_SUBHEADINGS:
        return {}
    return headings


def _outline_entries(lines: list[str], headings: dict) -> list[str]:
    """An outline's star lines that are not headings are list entries: each starts its own paragraph."""
    return [
        f"- {match.group(2)}" if index not in headings and (match := _OUTLINE.match(line)) else line
        for index, line in enumerate(lines)
    ]


def _continued(lines: list[str], index: int) -> bool:
    """The next line runs the star line on (indented text, not a new star line)."""
    below = lines[index + 1] if index + 1 < len(lines) else ""
    return bool(below.strip()) and below[:1].isspace()


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", ";", ","))


def _flush_left(lines: list[str]) -> dict[int, tuple[int, int, int, str]]:
    """In a text export whose prose is indented, the flush-left lines that stand alone are headings."""
    prose = [line for line in lines if line.strip() and not _RULE.match(line)]
    indented = sum(1 for line in prose if line[:1].isspace())
    if not prose or indented / len(prose) < MIN_INDENTED_SHARE:
        return {}
    found = {}
    for index, line in enumerate(lines):
        below = lines[index + 1] if index + 1 < len(lines) else ""
        if line[:1].isspace() or not _heading_like(line) or not _alone(lines, index):
            continue
        following = next((nxt for nxt in lines[index + 1 :] if nxt.strip()), "")
        if (below.strip() and not below[:1].isspace()) or not following[:1].isspace():
            continue  # a flush-left paragraph of several lines, or a heading over nothing (authors' names)
        if _ends_sentence(line):
            continue
        found[index] = (index, index, 1, line.strip())  # one level: no marks tell them apart
    return found


def _without_rules(lines: list[str]) -> list[str]:
    return ["" if _RULE.match(line) else line for line in lines]


def _indent(line: str) -> int:
    return len(line.expandtabs()) - len(line.expandtabs().lstrip())


def _led_definitions(lines: list[str]) -> list[str]:
    """A definition list of a text export (`   sync` over its text indented deeper): the term leads each
    paragraph of its definition ("sync: The shell of user sync is /bin/sync."), as a `<dt>` does in HTML
    (ingest.htmlpage._lead_with); before, the term was glued to the text as one run-on sentence."""
    out = list(lines)
    term, term_indent, body_indent = None, 0, 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        above = lines[index - 1] if index else ""
        indent = _indent(line)
        if term and indent >= body_indent and not above.strip():
            out[index] = f"{' ' * indent}{term}: {line.strip()}"  # a later paragraph of the definition
            continue
        if term and indent <= term_indent:
            term = None
        below = lines[index + 1] if index + 1 < len(lines) else ""
        if _is_term(line, above, below):
            term, term_indent, body_indent = line.strip(), indent, _indent(below)
            out[index] = ""
            out[index + 1] = f"{' ' * body_indent}{term}: {below.strip()}"
    return out


def _is_term(line: str, above: str, below: str) -> bool:
    return (
        not above.strip()
        and bool(below.strip())
        and _indent(below) >= _indent(line) + MIN_TERM_INDENT_STEP
        and len(line.split()) <= MAX_TERM_WORDS
        and not line.rstrip().endswith((".", "!", "?", ";", ",", ":"))
        and any(char.isalnum() for char in line)
    )
