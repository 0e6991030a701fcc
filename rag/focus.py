"""The focus-noun answer type: what answers an untyped "which <noun>" question.

"which hospital ...", "which tcp port ...", "which kind of index ..." carry no OntoNotes type
(rag.question), yet what answers them is an instance of the asked noun: a sentence answers when it
names one ("the Civil Hospital", "port 8080", "B-tree indexes") that the question does not name. An
instance is
  - a noun phrase holding the noun (in any form: "paper" in "newspaper"), or whose head noun is close
    to it by the MiniLM embedder ("clinic" for "hospital"), with a naming word in it: a capitalised
    word past the sentence's start, a figure or a code token, none of them the question's words;
  - or a figure or code token right after the noun ("port 8080", "umask of 022").
When no retrieved sentence names one, the documents do not say which: the reader abstains.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import numpy as np

from rag import versions
from rag.code_tokens import code_tokens
from rag.embedding import Embedder
from rag.leads import code_lead
from rag.nlp import Annotation, Span
from rag.question import CODE_KINDS, Query
from rag.shapes import GENERIC_NOUNS, has_noun
from rag.spans import in_question
from rag.text import STOPWORDS, content_terms, word_spans

# cosine of two single words' MiniLM vectors at which a head noun stands for the focus noun: "clinic"
# for "hospital" is 0.74, "newspaper" for "paper" 0.63; "group" for "outfit" 0.34, "number" for "port" 0.32
NEAR_NOUN = 0.6
# "port number 5432", "umask of 022", "a force called the Special Protection Unit"
JOINERS = frozenset("is are was were of number no set to called named known as such including the".split())
JOINER_REACH = 3  # joining words allowed between the noun and its value
FIGURE = re.compile(r"\d")
NAME_LIKE = re.compile(r"\d|[A-Z]|\w[-_.]\w")  # "8080", "InRelease", "isc-dhcp-server": not a plain word
MAY_NAME = re.compile(r"[A-Z0-9_./=-]")  # a phrase that may hold a naming word
WORD_CACHE = 20_000


def concept(query: Query) -> str:
    """The noun an instance of which answers the question; "" when it is typed, asks for code (commands
    and options have their own evidence) or names no kind of thing ("which way")."""
    if query.types or query.asks_code or query.wh != "which":
        return ""
    noun = query.concept or query.focus_noun
    if len(noun) < 3 or noun in GENERIC_NOUNS or noun in CODE_KINDS:
        return ""
    return noun


def without_concept(query: Query) -> Query:
    """The question without its focus noun's words: what an instance must stand near besides the noun."""
    asked = set(content_terms(concept(query)))
    return replace(query, terms=[t for t in query.terms if t not in asked])


class FocusNouns:
    """Finds instances of a question's focus noun in sentences; word vectors cached per process."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def prepare(self, noun: str, sentences: list[tuple[str, Annotation]]) -> None:
        """Embed, in one batch, the focus noun and the head nouns of the noun phrases that may name one (a
        capital, figure or code sign past their first letter; the noun itself needs no vector)."""
        heads = {noun} | {
            h
            for _, ann in sentences
            for c in ann.chunks
            if MAY_NAME.search(c.text, 1) and (h := _head(c.text)) and not has_noun(noun, h)
        }
        missing = sorted(h for h in heads if h not in self._vectors)
        if not missing:
            return
        vectors = self.embedder.embed_documents(missing)
        with self._lock:
            if len(self._vectors) + len(missing) > WORD_CACHE:
                self._vectors.clear()
            self._vectors.update(zip(missing, vectors))

    def near(self, word: str, noun: str) -> bool:
        a, b = self._vectors.get(word), self._vectors.get(noun)
        return a is not None and b is not None and float(a @ b) >= NEAR_NOUN

    def instances(self, text: str, annotation: Annotation, query: Query) -> list[Span]:
        """The instances of the focus noun the sentence names, best first (none for other questions)."""
        noun = concept(query)
        if not noun:
            return []
        codes, chunks, out = code_tokens(text), annotation.chunks, []
        for i, chunk in enumerate(chunks):
            if not self._names_kind(chunk, noun, query):
                continue
            # "Nikkei Asia, a Tokyo-based newspaper": the name in apposition names it best
            beside = [c for c in chunks[max(0, i - 1) : i + 2] if c is not chunk and _apposed(text, chunk, c)]
            found = [_named_from(text, c, noun, query, codes, opening=True) for c in beside]
            found.append(_named_from(text, chunk, noun, query, codes, opening=False))
            out += [span for span in found if span is not None and span not in out]
        lead = code_lead(text)
        if (
            lead
            and not in_question(lead, query)
            and any(self._names_kind(c, noun, query) for c in _after_lead(chunks, lead))
        ):
            out.append(Span(0, len(lead), "CODE", lead))  # "functools.cache(): Decorator ...": the entry is one
        out += [
            s
            for s in _values_after(text, noun, query, codes, annotation) + _versions(text, noun, query)
            if not any(o.start <= s.start < o.end for o in out)
        ]
        return out

    def _names_kind(self, chunk: Span, noun: str, query: Query) -> bool:
        """A noun phrase of the asked kind: it holds the noun, or its head noun is close to it."""
        head = _head(chunk.text)
        if not (has_noun(noun, chunk.text) or (head and self.near(head, noun))):
            return False
        # "previous releases" names none of them for "which release"
        kind_of = query.concept != query.focus_noun  # "which kind of index": "B-tree indexes" names one
        return not (head.endswith("s") and not noun.endswith("s") and not query.plural and not kind_of)


def _versions(text: str, noun: str, query: Query) -> list[Span]:
    """ "which release added X": a version number the sentence names is one, wherever it stands."""
    return versions.instances(text, query) if noun in versions.VERSION_KINDS else []


def _after_lead(chunks: tuple[Span, ...], lead: str) -> list[Span]:
    """The noun phrase right after a reference entry's lead ("name(): Decorator to wrap ...")."""
    return [c for c in chunks if len(lead) < c.start <= len(lead) + 3][:1]


def _apposed(text: str, chunk: Span, other: Span) -> bool:
    """Two noun phrases side by side with only a comma between them, the second closed by punctuation:
    "Nikkei Asia, a newspaper", "the newspaper, Nikkei Asia, said"; not "its own force, Reuters reported"."""
    if other.start < chunk.start:
        return text[other.end : chunk.start].strip() == ","
    return text[chunk.end : other.start].strip() == "," and text[other.end : other.end + 1] in ("", ",", ".", ";")


def _named_from(text: str, chunk: Span, noun: str, query: Query, codes: list[Span], opening: bool) -> Span | None:
    """ "the Civil Hospital" -> "Civil Hospital": from the phrase's first naming word to its end."""
    for lo, _, word in word_spans(chunk.text):
        start = chunk.start + lo
        if _naming(text, start, word, noun, query, codes, opening):
            return Span(start, chunk.end, "NP", text[start : chunk.end])
    return None


def _head(phrase: str) -> str:
    """The last word of a noun phrase: its head noun ("" for a figure)."""
    pieces = word_spans(phrase)
    return pieces[-1][2].lower() if pieces and pieces[-1][2].isalpha() else ""


def _naming(text: str, start: int, word: str, noun: str, query: Query, codes: list[Span], opening: bool) -> bool:
    """A word that names one thing of the kind: a figure, a code token, or a capitalised word (not opening
    the sentence, unless `opening`: a name set beside the noun); neither a function word, the noun itself,
    nor a word of the question."""
    lower = word.lower()
    if lower in STOPWORDS or has_noun(noun, word) and not FIGURE.search(word) or in_question(word, query):
        return False
    if FIGURE.search(word) or any(c.start <= start < c.end for c in codes):
        return True
    return any(ch.isupper() for ch in word) and (opening or text[:start].strip() != "")


def _values_after(text: str, noun: str, query: Query, codes: list[Span], annotation: Annotation) -> list[Span]:
    """A figure, code token or name standing right after the noun, past joining words only: "port 8080",
    "the umask of 022", "the package is isc-dhcp-server", "a force called the Special Protection Unit"."""
    pieces = word_spans(text)
    out = []
    for i, (_, end, word) in enumerate(pieces):
        if not has_noun(noun, word) or FIGURE.search(word):
            continue
        j = i + 1
        while (
            j < len(pieces)
            and j - i <= JOINER_REACH
            and pieces[j][2].lower() in JOINERS
            and _joined(text, end, j, pieces)
        ):
            end, j = pieces[j][1], j + 1
        if j >= len(pieces) or not _joined(text, end, j, pieces):
            continue
        lo, hi, value = pieces[j]
        code = next((c for c in codes if c.start == lo), None)
        if code is not None and not in_question(code.text, query):
            out.append(code)
        elif NAME_LIKE.search(value) and value.lower() not in STOPWORDS and not in_question(value, query):
            phrase = next((c for c in annotation.chunks if c.start <= lo < c.end), None)
            hi = phrase.end if phrase is not None else hi
            out.append(Span(lo, hi, "CARDINAL" if value.isdigit() else "NP", text[lo:hi]))
    return out


def _joined(text: str, end: int, j: int, pieces: list[tuple[int, int, str]]) -> bool:
    """Only spaces (or "=" / ":") between a word ending at `end` and the j-th word: no comma, no clause break."""
    return not text[end : pieces[j][0]].strip(" =:")
