"""Questions about one release: "what changed in 2.11.2?", "when was 4.8.0 released?".

A changelog holds one section per release and the sections read alike: the question's words match
each of them, and the cosine cannot tell 2.11.2's section from 2.11.1's. The version number asked for
is what tells them apart:
  - a sentence is about the release its section heading names, else about the versions its own text
    names, else about none in particular;
  - when some candidate is about the asked release, candidates about another release are dropped;
  - when the candidates stand in sections by release and none is about the asked one, and no sentence
    even names it, the documents do not say (a release they do not list);
  - a sentence naming the asked version inside another release's section names it as something
    else's ("requires Autoconf >= 2.64"): the version need not be a release of these documents, and
    nothing is dropped.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rag.nlp import Span
from rag.question import Query
from rag.store_records import section_of
from rag.text import DOTTED_NUMBER, dotted_numbers

if TYPE_CHECKING:
    from rag.answer_values import Candidate

# the nouns that ask for a version: "which release added X" is answered by a version number
VERSION_KINDS = frozenset({"version", "release", "revision", "edition"})
VERSION_WORDS = VERSION_KINDS | {"v"}
OWNER_WORD = re.compile(r"[A-Za-z][\w+]*")


def normalised(version: str) -> tuple[int, ...]:
    """ "4.9.0" and "4.9" are one release; "3.0" and "3.0.19" are two."""
    parts = [int(p) for p in version.split(".")]
    while len(parts) > 2 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def instances(text: str, query: Query) -> list[Span]:
    """The version numbers a sentence names that the question does not: what answers "which release"."""
    mine = asked(query)
    return [
        Span(m.start(), m.end(), "CARDINAL", m.group())
        for m in DOTTED_NUMBER.finditer(text)
        if normalised(m.group()) not in mine
    ]


def asked(query: Query) -> frozenset[tuple[int, ...]]:
    return frozenset(normalised(v) for v in query.versions)


def release_of(cand: Candidate) -> frozenset[tuple[int, ...]]:
    """The versions a candidate is about: its section heading's, else its own text's (empty: none)."""
    offset = cand.passage.text.find(cand.text)
    section = section_of(cand.passage.metadata, offset) or ""
    named = dotted_numbers(section) or dotted_numbers(cand.text)
    return frozenset(normalised(v) for v in named)


def about_asked_release(query: Query, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates about the release the question names (all of them when it names none, or when
    the version is not one of these documents' releases); [] when the documents do not say."""
    wanted = asked(query)
    if not wanted or not candidates:
        return candidates
    releases = [release_of(c) for c in candidates]
    if any(r & wanted for r in releases):
        if any(_names_as_another(c, r, wanted) for c, r in zip(candidates, releases)):
            return candidates
        return [c for c, r in zip(candidates, releases) if not r or r & wanted]
    by_release = sum(1 for r in releases if r) >= 2
    named = any(wanted & frozenset(normalised(v) for v in dotted_numbers(c.text)) for c in candidates)
    return [] if by_release and not named else candidates


def _names_as_another(cand: Candidate, release: frozenset[tuple[int, ...]], wanted: frozenset) -> bool:
    """A sentence of another release's section that names the asked version as another thing's:
    "requires Autoconf >= 2.64" in a library's notes, not "findutils-4.8.0 failed to build" in the
    notes of findutils (the word owning the version is not one of the document's title)."""
    if not release or release & wanted:
        return False
    title = f"{cand.passage.title} {cand.passage.source}".lower()
    return any(
        normalised(m.group()) in wanted and (owner := _owner(cand.text, m.start())) and owner not in title
        for m in DOTTED_NUMBER.finditer(cand.text)
    )


def _owner(text: str, start: int) -> str:
    """The name a version number belongs to: the word before it (past "version" and signs) when it is a
    name, capitalised ("Autoconf >= 2.64") or joined to the number ("findutils-4.8.0"); "" otherwise
    ("upgrade to version 2.1" names no owner)."""
    words = list(OWNER_WORD.finditer(text[:start]))
    while words and words[-1].group().lower() in VERSION_WORDS:
        words.pop()
    if not words:
        return ""
    word = words[-1]
    joined = text[word.end() : start] == "-"
    return word.group().lower() if joined or not word.group().islower() else ""
