"""Understanding the question: what it asks for, and which parts are instructions to ignore."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from rag.schemas import Turn
from rag.text import STOPWORDS, content_terms, split_sentences, words


class Wants(str, Enum):
    number = "number"
    date = "date"
    entity = "entity"  # who / which group / organisation
    place = "place"
    any = "any"


# Sentences of a question that try to steer the bot rather than ask about the articles.
INJECTION = re.compile(
    r"(ignore|disregard|forget|override)\b.{0,40}\b(instruction|prompt|rule|previous|above|guideline)s?"
    r"|system prompt|your (instructions|prompt|rules)|developer mode|jailbreak|you are now|pretend (to be|you)"
    r"|act as\b|print (the word|exactly|only)|say (the word|exactly)|repeat after me|reveal\b|from now on",
    re.I,
)
FOLLOW_UP = re.compile(
    r"\b(it|they|them|that|this|those|these|he|she|his|her|their|there|the attack|the group)\b", re.I
)


@dataclass
class Query:
    original: str
    text: str  # what is searched and answered: the question without injected instructions
    wants: Wants
    terms: list[str] = field(default_factory=list)
    injected: bool = False
    context: str = ""  # earlier user turns, for follow-ups
    context_terms: list[str] = field(default_factory=list)  # words of the earlier question, for follow-ups
    focus: list[str] = field(default_factory=list)  # stems a quantity must stand next to ("how many X")


def analyse(question: str, history: list[Turn] | None = None) -> Query:
    kept, injected = [], False
    for lo, hi in split_sentences(question):
        sentence = question[lo:hi]
        if INJECTION.search(sentence):
            injected = True
            continue
        kept.append(sentence)
    text = " ".join(kept).strip()
    context = _follow_up_context(text, history or [])
    return Query(
        original=question,
        text=text,
        wants=wants_of(text),
        terms=content_terms(text),
        context_terms=[t for t in content_terms(context) if t not in content_terms(text)],
        focus=quantity_focus(text),
        injected=injected,
        context=context,
    )


def wants_of(text: str) -> Wants:
    lowered = text.lower()
    if re.search(
        r"\bhow (many|much|long|far|big|large|old)\b|\bwhat (number|percentage|amount|share|size|figure)\b"
        r"|\bhow heavy\b|\bworth\b|\bcost\b|\bcapacity\b",
        lowered,
    ):
        return Wants.number
    if re.search(r"\bwhen\b|\bwhat (date|day|year|month|time)\b|\bwhich (date|day|year|month)\b|\bhow soon\b", lowered):
        return Wants.date
    if re.search(
        r"\bwhere\b|\bwhich (cit(y|ies)|countr(y|ies)|provinces?|towns?|regions?|places?|ports?|airports?)\b|\bin what (city|country)\b",
        lowered,
    ):
        return Wants.place
    if re.search(
        r"\bwho\b|\bwhose\b|\bwhich (group|organi[sz]ation|company|agency|ministry|militant|person|official"
        r"|country|firm|unit|force|body|department)\b|\bwhat (group|organi[sz]ation|company|agency|ministry"
        r"|is the name|was the name|unit|force)\b|\bname of\b",
        lowered,
    ):
        return Wants.entity
    return Wants.any


def quantity_focus(text: str) -> list[str]:
    """The counted thing of "how many X ...": the content words after "how many", up to the next stopword."""
    match = re.search(r"\bhow many\s+(.*)", text, re.I)
    if not match:
        return []
    phrase = []
    for word in words(match.group(1)):
        if word in STOPWORDS:
            break
        phrase.append(word)
    return content_terms(" ".join(phrase[:2]))


def _follow_up_context(text: str, history: list[Turn]) -> str:
    """For a short or pronoun-led question in a conversation, the previous user question gives the topic."""
    previous = [t.content for t in history if t.role == "user"]
    if not previous:
        return ""
    if (
        len(content_terms(text)) <= 4
        or FOLLOW_UP.search(text)
        or text.lower().startswith(("and ", "what about", "also"))
    ):
        return previous[-1]
    return ""
