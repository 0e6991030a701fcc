"""Sentences that announce their answer instead of holding it, bound to what they announce.

In manuals the sentence that best matches a question often announces the answer: "The following
macros check for C compilers." (then the entries), "To create a role use the CREATE ROLE SQL
command:" (then the command), "The template directory will be one of the following (in order):"
(then the list). What it announces is what stands right after it in its chunk, with nothing between
(no heading, no other block): a fenced code block, or the list entries that follow. Conversely an entry
of such a list says what it is only through the sentence announcing it, which is quoted with it.

Read from the stored chunk text and its stored sentences, so every quote stays verbatim stored text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.leads import MAX_LEAD

# "the following macros ...", "... as follows.": a sentence ending in a full stop that announces what comes next
FOLLOWING = re.compile(r"\b(?:the|these)\s+following\b|\bas\s+follows\b", re.I)
FENCE = "```"
BLOCK_LIMIT = 400  # a longer announced block is a listing, not an answer to quote
MAX_ITEMS = 4  # entries of an announced list quoted for a plural question


def announces(text: str) -> bool:
    """ "This is a convenient shortcut for:", "The following macros check for C types.": what follows
    in the chunk answers."""
    end = text.rstrip()
    return end.rstrip(" .").endswith(":") or (end.endswith(".") and bool(FOLLOWING.search(end)))


def announced_block(chunk_text: str, sentence: str) -> str | None:
    """The code block that stands right after an announcing sentence in its chunk, verbatim, or None.

    Structured pages keep a command as a fenced block of its own (no prose sentence), so "... you use the
    following command:" is followed in the chunk by the command itself, not by the next sentence.
    """
    at = chunk_text.find(sentence)
    if at < 0:
        return None
    rest = chunk_text[at + len(sentence) :].lstrip()
    if not rest.startswith(FENCE) or "\n" not in rest:
        return None
    body = rest.split("\n", 1)[1]  # past the fence and its info string ("```sql")
    end = body.find(FENCE)
    block = (body[:end] if end >= 0 else body).strip()
    return block if 0 < len(block) <= BLOCK_LIMIT else None


@dataclass(frozen=True)
class Binding:
    """What one stored sentence of a chunk is bound to: the entries it announces, or its announcer."""

    items: tuple[str, ...] = ()  # the list entries (first sentence of each) it announces, in order
    announcer: str | None = None  # the sentence announcing the list this sentence is an entry of


def bindings(chunk_text: str, sentences: list[str]) -> list[Binding]:
    """For each sentence of a chunk (in order), what it announces or what announces it."""
    out = [Binding() for _ in sentences]
    for i, text in enumerate(sentences):
        if not announces(text) or announced_block(chunk_text, text) is not None:
            continue
        entries = _entries(chunk_text, sentences, i)
        if entries:
            out[i] = Binding(items=tuple(sentences[j] for j in entries))
            for j in range(entries[0], _end_of_entries(chunk_text, sentences, entries)):
                if out[j] == Binding():
                    out[j] = Binding(announcer=text)
    return out


def _entries(chunk_text: str, sentences: list[str], at: int) -> list[int]:
    """Indexes of the entries announced by sentence `at`: the sentence right after it, then each further
    paragraph right after the last, as long as it has the first entry's shape (led by a term, or opening
    in lower case as a clause of the announcing sentence); a paragraph of another shape ends the list."""
    entries: list[int] = []
    previous = sentences[at]
    for j in range(at + 1, len(sentences)):
        text = sentences[j]
        if not _right_after(chunk_text, previous, text):
            break
        if not entries:
            entries.append(j)
        elif _opens_paragraph(chunk_text, text):
            if not _entry_shape(sentences[entries[0]]) or _entry_shape(text) != _entry_shape(sentences[entries[0]]):
                break
            entries.append(j)
        previous = text
    return entries


def _end_of_entries(chunk_text: str, sentences: list[str], entries: list[int]) -> int:
    """One past the last sentence of the last entry: an entry standing as a paragraph of its own may hold
    more sentences than its first (in running text, the next sentence is no longer the entry)."""
    end = entries[-1] + 1
    if not _opens_paragraph(chunk_text, sentences[entries[0]]):
        return end
    while end < len(sentences) and _right_after(chunk_text, sentences[end - 1], sentences[end]):
        if _opens_paragraph(chunk_text, sentences[end]):
            break
        end += 1
    return end


def _right_after(chunk_text: str, first: str, second: str) -> bool:
    """`second` stands right after `first` in the chunk: only white space between (no heading, no code)."""
    at = chunk_text.find(first)
    return at >= 0 and chunk_text[at + len(first) :].lstrip().startswith(second)


def _opens_paragraph(chunk_text: str, sentence: str) -> bool:
    at = chunk_text.find(sentence)
    return at == 0 or chunk_text[:at].rstrip(" ").endswith("\n\n")


def entry_term(text: str) -> str | None:
    """The term an entry is led by ("cache" of "cache: Cache credentials in memory ..."), or None."""
    return text.partition(": ")[0] if _entry_shape(text) == "term" else None


def is_clause(text: str) -> bool:
    """An entry continuing its announcing sentence: "the argument given with the --template option;"."""
    return _entry_shape(text) == "clause"


def _entry_shape(text: str) -> str:
    """ "term" (a short label before a colon: "cache: Cache credentials ...", "--verbose, -v: Print ..."),
    "clause" (opening in lower case: "the argument given with the --template option;"), or ""."""
    label, colon, rest = text.partition(": ")
    if colon and rest.strip() and len(label) <= MAX_LEAD and not re.search(r"[.;!?]\s", label):
        return "term"
    return "clause" if text[:1].islower() else ""
