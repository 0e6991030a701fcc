"""Putting an answer together: candidate sentences, the values they give, and where articles differ.

Two articles agree when they give the same value of the asked kind and differ when they give another
one (an amount of the same unit, a count or a date), which is then shown side by side. A figure the
question takes for granted ("... killed 500 people, why ...") is its stated premise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.nlp import Span
from rag.passages import Passage
from rag.question import Query, Wants
from rag.spans import DIGITS, NUMBER_WORDS, YEAR, is_value, specific_value
from rag.text import content_terms, content_terms_aligned, words

VALUE_DISAGREE_RATIO = 0.8  # another article's different count or date is shown down to this share
# labels of values, not names: "one year" and "three years" are two durations, never two spellings
VALUE_LABELS = frozenset({"CODE", "CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL", "DATE", "TIME"})
SAME_WORD_PREFIX = 4  # "Baloch" / "Balochistan": a word this long that starts the other is the same name


@dataclass
class Candidate:
    passage: Passage
    text: str
    index: int
    cosine: float
    keyword: float
    holds_wanted: bool
    score: float
    leans_on_previous: bool = False  # its subject is named in the sentence before it
    spans: list[Span] = field(default_factory=list)  # short answers it offers, best first
    novelty: float = 1.0
    fits: bool = True  # holds what the question's form needs (rag.shapes.fits_sentence)
    follows: tuple[str, ...] = ()  # what it announces ("... the following command:"), quoted after it
    announcer: str | None = None  # the sentence announcing the list it is an entry of, quoted before it
    faint: frozenset[int] = frozenset()  # ids of its spans that no question word stands near: not short answers
    instance: bool = False  # names an instance of an untyped question's focus noun (rag.focus)

    @property
    def value(self) -> str | None:
        return self.spans[0].text if self.spans else None

    @property
    def name(self) -> str | None:
        """The value when it is a name: two commands that share a word are two things, not two spellings,
        and two counts or dates are two values."""
        return self.value if self.spans and self.spans[0].label not in VALUE_LABELS else None

    @property
    def kind(self) -> str | None:
        """The entity label of its value ("MONEY", "GPE"), None when it offers none."""
        return self.spans[0].label if self.spans else None


def short_answer(chosen: list[Candidate], query: Query, disagree: bool) -> str | None:
    """The asked-for value alone: one value, the different values side by side, or the names listed."""
    values: list[str] = []
    for cand in chosen if (disagree or query.plural or query.wants is Wants.number) else chosen[:1]:
        value = next((s.text for s in cand.spans if is_value(s) and id(s) not in cand.faint), None)
        if value and norm(value) not in {norm(v) for v in values}:
            values.append(value)
        if not (disagree or query.plural):
            break
    if not values:
        return None
    return " / ".join(values) if disagree else ", ".join(values)


def norm(text: str) -> str:
    return " ".join(content_terms(text))


def name_variants(a: str | None, b: str | None) -> bool:
    """Two names of one thing worded differently: "Shanghai Cooperation Council" / "... Organisation"."""
    if not (a and b):
        return False
    ta, tb = _name_words(a), _name_words(b)
    shared = ta & tb
    if not shared or ta <= tb or tb <= ta or same_name(a, b):
        return False  # one name inside the other ("the Corridor" in "the Group ... of the Corridor") is no variant
    return len(shared) * 2 >= min(len(ta), len(tb))


def _name_words(name: str) -> set[str]:
    """A name's content words, its hyphenated words split: "China-Pakistan" holds "china" and "pakistan"."""
    return {piece for term in content_terms(name) for piece in term.split("-") if piece}


def same_name(a: str, b: str) -> bool:
    """Two spellings of one name: word by word, each word of the shorter equals or starts (from
    SAME_WORD_PREFIX letters) a word of the other ("Baloch Liberation Army" / "Balochistan Liberation Army")."""
    wa, wb = words(a.lower()), words(b.lower())
    wa, wb = [w for w in wa if content_terms(w)], [w for w in wb if content_terms(w)]
    if not wa or not wb or len(wa) != len(wb):
        return False
    return all(
        x == y or (min(len(x), len(y)) >= SAME_WORD_PREFIX and (x.startswith(y) or y.startswith(x)))
        for x, y in zip(wa, wb)
    )


def same_value(a: Candidate, b: Candidate) -> bool:
    if a.value and b.value:
        return norm(a.value) == norm(b.value) or bool(quantities(a.value) & quantities(b.value))
    return same_quantity(a.text, b.text)


UNIT_CLASSES = {
    "money": re.compile(r"[$£€]\s?\d[\d,.]*\s*(?:bn|billion|million|m)?|\d[\d,.]*\s*(?:bn|billion|million)\b", re.I),
    "weight": re.compile(r"\d[\d,.]*\s*(?:kg|kilograms?|pounds|lbs|tons?|tonnes?)\b", re.I),
}


def amounts(text: str) -> dict[str, set[str]]:
    found = {}
    for unit, pattern in UNIT_CLASSES.items():
        values = {re.sub(r"[^\d.]", "", m) for m in pattern.findall(text)}
        if values:
            found[unit] = values
    return found


def disagrees(cand: Candidate, chosen: list[Candidate], query: Query) -> bool:
    """Another article giving a value of the asked kind that no chosen sentence gives: an amount of the
    same unit (money, weight), or a different count or date close enough in score to be about the same."""
    if any(cand.passage.doc_id == c.passage.doc_id for c in chosen):
        return False
    mine = amounts(cand.text)
    theirs = [amounts(c.text) for c in chosen]
    if any(unit in other and not (values & other[unit]) for unit, values in mine.items() for other in theirs):
        return True
    lead = chosen[0]
    if not (cand.value and lead.value) or cand.score < lead.score * VALUE_DISAGREE_RATIO:
        return False
    if not (specific_value(cand.spans[0]) and specific_value(lead.spans[0])):
        return False  # "last month" and "this month" in articles of different days need not differ
    return not any(same_value(cand, c) for c in chosen if c.value)


def stated_premise(query: Query) -> str | None:
    """The claim a question takes for granted when it states a figure ("... killed 500 people, why ...?"):
    the clause holding the figure, unless the figure is what is asked about."""
    if query.wants is Wants.number:
        return None
    for clause in re.split(r"[,;:?]", query.text):
        if quantities(clause) and not re.search(r"\b(how|what|which|who|when|where|why)\b", clause, re.I):
            return clause.strip()
    return None


def counts_near(text: str, stems_wanted: set[str]) -> bool:
    """A specific quantity within a few words of one of the given stems."""
    tokens = words(text)
    stems = content_terms_aligned(tokens)
    for i, token in enumerate(tokens):
        specific = (bool(DIGITS.search(token)) and not YEAR.fullmatch(token)) or token in NUMBER_WORDS
        if specific and stems_wanted & set(stems[max(0, i - 4) : i] + stems[i + 1 : i + 5]):
            return True
    return False


def quantities(text: str) -> set[str]:
    """Specific quantities in a text, normalised ("1,500" stays one number, "two" is "2"; years are dates)."""
    numbers = {m.replace(",", "") for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text) if not YEAR.fullmatch(m)}
    return numbers | {NUMBER_WORDS[w] for w in words(text) if w in NUMBER_WORDS}


def same_quantity(a: str, b: str) -> bool:
    return bool(quantities(a) & quantities(b))


def same_text(a: str, b: str) -> bool:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    return len(ta & tb) / max(min(len(ta), len(tb)), 1) > 0.8


def as_sentence(text: str) -> str:
    """The text ending as a sentence: a closing quote ends one only after a full stop ('... he said.”'),
    so 'appended in "debian/changelog"' takes one, and the next claim does not run into it."""
    text = text.strip()
    return text if text.rstrip("”\"’'").endswith((".", "!", "?", ":")) else text + "."


def as_clause(question: str) -> str:
    """ "how big was the bomb?" -> "how big was the bomb." for "The articles do not say ..." """
    return as_sentence(question.strip().rstrip("?").strip())
