"""Answer shapes: does a sentence (or a value in it) hold what the question's form asks for?

On-topic unanswerable questions ask for a detail the documents do not give about something they do
cover, so the nearest sentence is always on topic. These checks, derived from the question's parse
(rag.question sets `Query.shape`, `Query.verb`, `Query.speaker`), refuse a sentence or a value that
has the wrong shape:
  "how old"              an age: a number or date next to "old", "aged", "-year-old"
  "what time"            a clock time (TIME with a figure, "noon"), not "Sunday night" or "90 seconds"
  "what time of day"     a time of day (TIME), not a span of time
  "how much"             an amount with its unit: MONEY, QUANTITY, PERCENT (not a bare "one")
  "how long"             a span of time ("40 minutes", "a month") or its start ("since 2013")
  "who <verb>"           the sentence holds that verb (any form: "drove", "driver", "driving")
  "what did X say"       a quote or a speech verb, with X named in the sentence or the one before
  "which <noun>" untyped the noun itself (any form: "paper" in "newspaper") stands in the sentence
General English only: units of time, speech verbs and light verbs, never a name from any corpus.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rag.nlp import Span
from rag.text import content_terms, words

if TYPE_CHECKING:
    from rag.question import Query

ENABLED = frozenset({"age", "clock", "daytime", "amount", "duration", "verb", "says", "noun"})

TIME_UNITS = frozenset(
    "second seconds minute minutes hour hours day days week weeks fortnight month months year years "
    "decade decades century centuries".split()
)
CLOCK = re.compile(r"\d|o['’]clock|\bnoon\b|\bmidnight\b", re.I)  # "9:15 pm", "noon"; not "Sunday night"
UNIT_REACH = 40  # characters around a number in which its unit may stand
UNIT_OF = re.compile(r"\b(?:of|in)\s+(?:" + "|".join(sorted(TIME_UNITS)) + r")\b", re.I)
UNIT_AFTER = re.compile(r"^\s?[a-z]{2,}\b")  # "63 bytes", "8 characters": a unit noun after the number
LENGTH_WORDS = frozenset("length long longer size limit limited maximum max most least exceed".split())
AGE_AFTER = re.compile(r"^\W{0,2}(-?\s?years?[- ]old|-?\s?year[- ]olds?|old\b)", re.I)
AGE_BEFORE = re.compile(r"\b(aged|age of|age)\W{0,2}$", re.I)
AGE_INSIDE = re.compile(r"year[- ]old|years old", re.I)
RELATIVE_WORDS = frozenset("last this next ago earlier recent previous coming past".split())
START_BEFORE = re.compile(r"\b(since|from)\W{0,2}$", re.I)
AMOUNT_LABELS = frozenset({"MONEY", "QUANTITY", "PERCENT"})
SPEECH_WORDS = frozenset(
    "say says said saying tell tells told telling state states stated add adds added announce announced "
    "announces warn warned warns note noted notes stress stressed according statement statements remark "
    "remarked comment commented reply replied respond responded quote quoted write wrote written".split()
)
QUOTES = ("“", "”", '"')
# Verbs too general to show that a sentence answers "who <verb> ...": "who is", "who did", "who got".
LIGHT_VERBS = frozenset("be have do get make take go come give put set keep let seem become".split())
# Nouns that name no kind of thing: "which kind of index", "which way", "which one".
GENERIC_NOUNS = frozenset("kind kinds type types sort sorts way ways thing things one ones part parts".split())


def fits_span(query: Query, text: str, span: Span) -> bool:
    """Is this value of the expected type also of the asked shape?"""
    shape = query.shape
    if not shape or shape not in ENABLED:
        return True
    if shape == "age":
        return span.label in ("CARDINAL", "DATE") and _age(text, span)
    if shape == "daytime":
        return span.label == "TIME" and not _span_of_time(span.text)
    if shape == "clock":
        return span.label == "TIME" and not _span_of_time(span.text) and bool(CLOCK.search(span.text))
    if shape == "amount":
        return span.label in AMOUNT_LABELS
    if shape == "duration":
        if span.label in ("CARDINAL", "QUANTITY"):
            return _measured(text, span)
        return span.label in ("DATE", "TIME") and (
            _span_of_time(span.text) or bool(START_BEFORE.search(text[max(0, span.start - 8) : span.start]))
        )
    return True


def _measured(text: str, span: Span) -> bool:
    """A number answering "how long": a time unit names it ("Number of seconds ... (default: 900)"), or it
    is a length: a unit right after it in a sentence about a size or limit ("limited to 63 bytes")."""
    after_words = words(text[span.end : span.end + UNIT_REACH // 2])[:2]
    if set(after_words) & TIME_UNITS or UNIT_OF.search(text[max(0, span.start - 2 * UNIT_REACH) : span.start]):
        return True  # "900 seconds", "number of seconds to cache (default: 900)"; not "last month, two ..."
    after = UNIT_AFTER.match(text[span.end :])
    return bool(after) and any(ch.isdigit() for ch in span.text) and bool(set(words(text)) & LENGTH_WORDS)


def fits_sentence(query: Query, text: str, previous: str = "") -> bool:
    """Does the sentence hold what the question's form needs beyond a value (a verb, a speaker, a noun)?"""
    if query.verb and "verb" in ENABLED and not _has_verb(query, text):
        return False
    if query.speaker and "says" in ENABLED and not _reports_speech(query, text, previous):
        return False
    if _asks_kind(query) and "noun" in ENABLED and not has_noun(query.focus_noun, text):
        return query.focus_noun in CALLABLE_KINDS and bool(CALL.search(text))
    return True


# "which function ...": a sentence naming a call ("The sqlite3_close_v2() interface is ...") names one
CALLABLE_KINDS = frozenset("function functions method methods routine routines call calls constructor".split())
CALL = re.compile(r"[A-Za-z_$][\w$.]*\(\)")


def _age(text: str, span: Span) -> bool:
    after = text[span.end : span.end + 14]
    before = text[max(0, span.start - 10) : span.start]
    return bool(AGE_INSIDE.search(span.text) or AGE_AFTER.match(after) or AGE_BEFORE.search(before))


def _span_of_time(text: str) -> bool:
    """ "40 minutes", "a month", "decades"; not "last month" or "this year" (points in time)."""
    tokens = set(words(text))
    return bool(tokens & TIME_UNITS) and not tokens & RELATIVE_WORDS


def _root(word: str) -> str:
    """ "drive" -> "driv", "carry" -> "carr", "chair" -> "chair": a prefix every form of the word shares."""
    word = word.lower()
    if len(word) > 4 and word[-1] in "ey":
        return word[:-1]
    return word


def _has_verb(query: Query, text: str) -> bool:
    root = _root(query.verb)
    forms = {query.verb_form.lower()} if query.verb_form else set()
    return any(w.startswith(root) or w in forms for w in words(text))


def _reports_speech(query: Query, text: str, previous: str) -> bool:
    if not (any(q in text for q in QUOTES) or set(words(text)) & SPEECH_WORDS):
        return False
    named = set(content_terms(text)) | set(content_terms(previous))
    return bool(set(query.speaker) & named)


def _asks_kind(query: Query) -> bool:
    return (
        not query.types
        and query.wh == "which"  # "which hospital" picks a named one; "what grudge" may be described
        and bool(query.focus_noun)
        and query.focus_noun not in GENERIC_NOUNS
    )


def has_noun(noun: str, text: str) -> bool:
    """The noun in any form: "paper" in "newspaper", "hospital" in "hospitals"."""
    root = _root(noun[:-1] if noun.endswith("s") and len(noun) > 4 else noun)
    if len(root) < 3:
        return True
    return any(root in w for w in words(text))
