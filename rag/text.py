"""Small text primitives shared by ingest, retrieval, generation and citation checking."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "gen",
    "col",
    "lt",
    "sgt",
    "no",
    "vs",
    "u.s",
    "u.k",
    "inc",
    "ltd",
    "jr",
    "sr",
    "e.g",  # Latin abbreviations inside a sentence ("test (e.g. it fails to build)"); not "etc", which often ends one
    "i.e",
    "cf",
}
_QUOTED_ALONE = {"''", '""', "‘’", "“”", "``", "()"}
_LEAD_LOOKAHEAD = 82
_TERM_LEAD = re.compile(r"[^\s:]{1,80}: ")  # "os.path.getsize(): ..." (see ingest.htmlpage._lead_with)
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*\s+|\n\s*\n|\n")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "tell",
        "said",
        "says",
        "say",
        "according",
        "did",
        "does",
        "please",
        "know",
        "any",
        "many",
        "much",
    ]
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in text (line breaks end one unless a wrapped line continues it)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + len(match.group(0).rstrip())
        candidate = text[start:end].strip()
        if match.group(0)[0] == "." and _ends_with_abbreviation(candidate):
            continue
        if match.group(0)[0] == "." and "\n" not in match.group(0) and _standalone_period(text, match.start()):
            continue
        if _wrapped_line(candidate, match.group(0), text[match.end() : match.end() + _LEAD_LOOKAHEAD]):
            continue
        if candidate:
            lead = len(text[start:end]) - len(text[start:end].lstrip())
            spans.append((start + lead, end))
        start = match.end()
    tail = text[start:].strip()
    if tail:
        lead = len(text[start:]) - len(text[start:].lstrip())
        spans.append((start + lead, start + lead + len(tail)))
    return spans


def _wrapped_line(sentence: str, boundary: str, following: str) -> bool:
    """A line break inside a sentence (HTML text wrapped in the source): no end punctuation before it
    and a lower-case word after it, as in "by passing frozen=True to the\n\nemulate immutability".
    A paragraph led by its term is never a wrapped line's continuation ("```" or "Format" then
    "textwrap.dedent(): Remove ...")."""
    if _TERM_LEAD.match(following):
        return False
    return boundary[0] == "\n" and bool(sentence) and sentence[-1] not in ".!?:;" and following[:1].islower()


def _standalone_period(text: str, at: int) -> bool:
    """A '.' after a space, or quoted on its own, with the line going on, is a symbol being named, not
    a sentence's end: "the last occurrence of the . (period) character", "then '.' is returned"."""
    line = text[text.rfind("\n", 0, at) + 1 : at]
    if not line.strip():
        return False  # the line starts with it: a full stop after a cut ("[1]. Next"), not a symbol
    return line[-1].isspace() or line[-1] + text[at + 1 : at + 2] in _QUOTED_ALONE


def _ends_with_abbreviation(sentence: str) -> bool:
    last = sentence.rstrip(".\"”’')]").rsplit(" ", 1)[-1].lstrip("(\"“‘'[").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def normalize_ws(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """The words `words(text)` reads, as written, each with its start and end offsets."""
    return [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    out = []
    for word in _WORD.findall(text):
        word = word.lower().replace("’", "'")
        out.append(word[:-2] if word.endswith("'s") else word)
    return out


# Stems that news text uses interchangeably, folded onto one (after stemming).
SYNONYMS = {"happen": "occur", "die": "kill", "death": "kill", "dead": "kill", "blast": "explos", "slain": "kill"}


def content_terms(text: str) -> list[str]:
    """Lower-cased, stemmed words without stopwords: what keyword matching compares."""
    kept = [w for w in words(text) if w not in STOPWORDS and len(w) > 1]
    return [SYNONYMS.get(stem, stem) for stem in _stemmer().stemWords(kept)]


def content_terms_aligned(tokens: list[str]) -> list[str]:
    """One stem per token of `words(text)` (stopwords become ""), so positions line up."""
    stems = _stemmer().stemWords(tokens)
    return ["" if t in STOPWORDS else SYNONYMS.get(s, s) for t, s in zip(tokens, stems)]


_HYPHENATED = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")
DOTTED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)+(?!\w|\.\d)")  # "4.9.0", "2.10.2", "3.0"


def keyword_terms(text: str) -> list[str]:
    """What BM25 compares: content_terms, plus the parts of each hyphenated word.

    "write-ahead" stays one term (the joined form) and also counts as "write" and "ahead", so a
    question and a page that hyphenate a compound differently (or only one of them does) still match.
    """
    return content_terms(text) + hyphen_parts(text) + dotted_numbers(text)


def dotted_numbers(text: str) -> list[str]:
    """Version-like numbers as one term each: words() splits "4.9.0" into digits too short to count, so
    "when was 4.8.0 released?" matched every release of a changelog alike."""
    return DOTTED_NUMBER.findall(text)


def hyphen_parts(text: str) -> list[str]:
    """content_terms of the parts of every hyphenated word in `text` (the joined form not repeated)."""
    return content_terms(" ".join(m.group(0).replace("-", " ") for m in _HYPHENATED.finditer(text)))
