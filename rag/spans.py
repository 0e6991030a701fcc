"""What a sentence offers as a short answer: entities of the expected type that the question lacks.

A candidate is an entity (OntoNotes label, from rag.nlp) of a type the question asks for (rag.question),
of the asked shape (rag.shapes), not already in the question, and not part of code; vague quantities
("thousands") and relative dates ("last month") are not specific values. For untyped "which <noun>"
questions a name of that kind, or in technical text a code identifier, is the candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from rag import shapes
from rag.code_tokens import code_tokens, is_path, new_to
from rag.leads import code_lead
from rag.nlp import Annotation, Span
from rag.question import Query, Wants
from rag.text import content_terms, word_spans, words

# Specific quantities. Vague ones ("thousands of", "several", "one of the") do not answer "how many".
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()
    )
    if i > 1
} | {"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "dozen": "12"}
DURATION_WORDS = set("minutes hours days week weeks month months year years decade decades".split())
CALENDAR_WORDS = set(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
RELATIVE_WORDS = set("last this next ago earlier recent recently later previous".split())
NUMERIC_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
HOW_LONG = re.compile(r"\bhow long\b", re.I)
CODE_SYMBOL_SHARE = 0.06  # above this share of symbols ("=", "/", "_", ">") a sentence is code, not prose
CODE = re.compile(r"\b[A-Za-z_][\w.]*\(\)|\b[A-Za-z_]\w*=\w+|\b[a-z_]\w*\.[A-Za-z_][\w.]*[A-Za-z_]\b")
DIGITS = re.compile(r"\d")
QUOTED = re.compile(r'["“]([^"“”\n]{3,80})["”]')
BARE_NUMBER = re.compile(r"(?<![\w.,-])\d[\d,]*(?:\.\d+)?(?![\w.,-]*\w)")
NEXT_WORD = re.compile(r" ([A-Za-z]+)\b")
YEAR = re.compile(r"\b(19|20)\d\d\b")
# What answers a yes/no question beyond the topic: a negation, a restriction or a condition.
POLAR = re.compile(r"\b(?:not|no|never|cannot|only|neither|nor|without|must|unless|except)\b|n[’']t\b", re.I)
RESTATEMENT_NOVELTY = 0.35  # a sentence with less than this share of new words only restates
RESTATEMENT_NOVELTY_FULL = 0.5  # ... or with less than this share when it holds all of the question's words
FULL_COVERAGE = 0.9
# Labels of names that can be what an untyped question asks for. Nationalities and places are left
# out: news sentences nearly all hold one as a descriptor ("Chinese", "in Karachi"), so they tell nothing.
NAME_LABELS = frozenset({"PERSON", "ORG", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})
ACRONYM_MIN = 2  # letters of the shortest acronym read as a name's initials ("UN", "BLA")
ACRONYM_JOINERS = frozenset({"of", "and", "on", "for", "the"})  # "Ministry of State Security" is "MSS"
# Questions that ask for a name spelled out: there its expansion is the answer, not a repeat of the question.
EXPANSION_ASKED = re.compile(
    r"\b(?:stands? for|short for|full (?:name|form)|abbreviat\w*|acronym|spelled out|expan\w+)\b", re.I
)


def answer_spans(
    text: str, query: Query, annotation: Annotation, previous_terms: frozenset[str] = frozenset()
) -> list[Span]:
    """The short answers a sentence offers: entities of an expected type (or, for "which <noun>", names
    of that kind) that the question does not already contain."""
    if query.types:
        ents = annotation.ents + (_bare_numbers(text, annotation.ents) if "CARDINAL" in query.types else ())
        spans = [
            e for e in ents if e.label in query.types and not _asked_entity(e, query) and not _inside_code(text, e)
        ]
        if _is_code(text):
            spans = []  # "ValueError" in a traceback is not an organisation
        spans = [e for e in spans if e.label not in NUMERIC_LABELS or _specific_quantity(e.text)]
        if query.role:  # "who is the power minister": the name stands next to the role
            role = _stem(query.role)
            spans = [e for e in spans if role in content_terms(text[max(0, e.start - 60) : e.end + 60])]
        if query.focus and query.wants is Wants.number:  # "how many engineers": the count of that thing
            spans = [e for e in spans if e.label not in NUMERIC_LABELS or _counts_focus(text, e, query, previous_terms)]
        if query.wants is Wants.number:
            spans = [e for e in spans if e.label != "DATE" or _counts_time(query, e)]
        spans = [e for e in spans if shapes.fits_span(query, text, e)]
        if query.wh == "where":  # "where does it write ...": a path is a place in a file system
            spans += [t for t in code_tokens(text) if is_path(t.text) and new_to(query.text, t)]
        return spans
    named: list[Span] = []
    if query.focus_noun:
        stem = _stem(query.focus_noun)
        named = [s for s in annotation.ents + annotation.chunks if stem in content_terms(s.text) and _has_name(s.text)]
        named += _named_by_of(text, stem, annotation)
        named += _named_before(text, stem, annotation)
        named += code_spans(text)  # "which function ...": in technical text the name is an identifier
        named = [s for s in named if not in_question(s.text, query)]
    if query.asks_code:  # "which option ...", "how do i ...": a command, option or keyword not asked about
        # a code-shaped token opening with a digit ("800Kib/sec", "2.5x") is an amount, not a command
        tokens = [_quoted_command(text, t) for t in code_tokens(text) if not DIGITS.match(t.text)]
        named += [t for t in tokens if new_to(query.text, t) and not any(t.start == s.start for s in named)]
    return named


def offers_new_name(text: str, query: Query, annotation: Annotation) -> bool:
    """ "What's the name of the army's media arm?", "what do scholars take the slogan to mean": a sentence
    naming something (an entity the recogniser labelled as a name) that the question does not already name
    offers more than one on the question's topic, even when the name does not hold the asked noun."""
    return any(
        e.label in NAME_LABELS and not in_question(e.text, query) and not _inside_code(text, e) for e in annotation.ents
    )


def _bare_numbers(text: str, ents: tuple[Span, ...]) -> tuple[Span, ...]:
    """Numbers the entity recogniser left unlabelled ("(default: 900)"), as counts."""
    return tuple(
        Span(m.start(), m.end(), "CARDINAL", m.group(0))
        for m in BARE_NUMBER.finditer(text)
        if not any(e.start <= m.start() < e.end for e in ents)
    )


def _named_by_of(text: str, stem: str, annotation: Annotation) -> list[Span]:
    """ "the summit of the Shanghai Cooperation Organisation": the name after "<noun> of" names the noun."""
    out = []
    for chunk in annotation.chunks:
        if stem not in content_terms(chunk.text) or _has_name(chunk.text):
            continue
        rest = text[chunk.end : chunk.end + 5]
        if not rest.startswith(" of "):
            continue
        after = chunk.end + 4
        names = [s for s in annotation.ents + annotation.chunks if after <= s.start <= after + 4 and _has_name(s.text)]
        out += [_balanced(s) for s in names[:1]]
    return out


def _named_before(text: str, stem: str, annotation: Annotation) -> list[Span]:
    """ "an ACCESS EXCLUSIVE lock" parsed as the phrase "an ACCESS EXCLUSIVE" and a verb "lock": a name
    standing right before the asked noun names it, with the noun."""
    out = []
    for chunk in annotation.chunks:
        following = NEXT_WORD.match(text, chunk.end)
        if following and _has_name(chunk.text) and content_terms(following.group(1)) == [stem]:
            out.append(Span(chunk.start, following.end(), "NP", text[chunk.start : following.end()]))
    return out


def _balanced(span: Span) -> Span:
    """ "the Shanghai Cooperation Organisation (SCO" -> "the Shanghai Cooperation Organisation"."""
    cut = span.text.rfind("(")
    if cut <= 0 or ")" in span.text[cut:]:
        return span
    text = span.text[:cut].rstrip()
    return Span(span.start, span.start + len(text), span.label, text)


def _inside_code(text: str, span: Span) -> bool:
    """ "Lib" in "Lib/pathlib.py" is part of a path, not a name; "7" in "glob(7)" is a manual section."""
    before = text[span.start - 1] if span.start else " "
    after = text[span.end] if span.end < len(text) else " "
    if any(ch in span.text for ch in '()"%/=¶<>[]{}'):
        return True
    if before == "(" and after == ")" and span.start > 1 and text[span.start - 2].isalnum():
        return True
    return (
        before in "/._"
        or after in "/_("
        or (after == "." and span.end + 1 < len(text) and text[span.end + 1].isalnum())
    )


def _is_code(text: str) -> bool:
    """A code sample or traceback rather than prose: a prompt, or many symbols."""
    if ">>>" in text or "Traceback" in text:
        return True
    symbols = sum(1 for ch in text if not (ch.isalnum() or ch.isspace() or ch in ".,;:'’\"“”()-"))
    return symbols / max(len(text), 1) > CODE_SYMBOL_SHARE


def code_spans(text: str) -> list[Span]:
    """Identifiers written as code: `dumps()`, `frozen=True`, `tempfile.TemporaryDirectory`."""
    return [Span(m.start(), m.end(), "CODE", m.group(0)) for m in CODE.finditer(text)]


def polar(text: str) -> bool:
    """ "MD5 is no longer considered secure", "only stored columns": a sentence that can say no."""
    return bool(POLAR.search(text))


# A sentence that only sends the reader elsewhere: "See Section 9.1.1.", "For details, see git-merge(1).",
# "... is described below." It holds no answer of its own, whatever words of the question it repeats.
POINTER = re.compile(
    r"^\W*(?:for (?:more |further )?(?:details|information|examples?)\b[^,]{0,40},\s*)?(?:see|refer to|cf\.)\s", re.I
)
POINTER_END = re.compile(r"\b(?:see|shown|described|explained|listed|given) (?:below|above)\W*$", re.I)


def points_elsewhere(text: str) -> bool:
    """A cross-reference, not an answer (a reference entry's lead-in, "--strategy=<s>: See ...", aside)."""
    lead = code_lead(text)
    body = text[len(lead) + 2 :] if lead else text
    return bool(POINTER.search(body) or POINTER_END.search(body))


def holds_wanted(text: str, query: Query, annotation: Annotation, previous_terms: frozenset[str] = frozenset()) -> bool:
    """Does the sentence hold the kind of thing the question asks for (beyond what the question says)?"""
    return bool(answer_spans(text, query, annotation, previous_terms))


def in_question(span: str, query: Query) -> bool:
    """A span that adds nothing to the question: every word of it is already asked about."""
    return _words_asked(span, set(query.terms) | set(query.context_terms))


def _asked_entity(span: Span, query: Query) -> bool:
    """An entity the question already holds. The count of a "how many X" question is new when its number is:
    "9" answers "how many watts" (by content terms "9" is no term at all, so it would count as asked); the
    count must then stand next to X (`_counts_focus`)."""
    if span.label in NUMERIC_LABELS and query.focus and query.wants is Wants.number:
        numbers = {w for w in words(span.text) if w[0].isdigit()}
        if numbers:
            return numbers <= set(words(f"{query.text} {query.context}"))
    return in_question(span.text, query)


def acronym_of_question(span: str, query: Query) -> bool:
    """A name the question already asks about by its acronym ("China-Pakistan Economic Corridor" when it
    asks about "cpec"): it may answer (its sentence is about the subject) but is no short answer, unless the
    question asks for the spelled-out name ("what does BLA stand for")."""
    asked = set(query.terms) | set(query.context_terms)
    if EXPANSION_ASKED.search(query.text) or _words_asked(span, asked):
        return False
    spelled = " ".join(_spelled_out(span, set(words(f"{query.text} {query.context}"))))
    return _words_asked(spelled, asked)


def _words_asked(text: str, asked: set[str]) -> bool:
    terms = content_terms(text)
    return not terms or all(t in asked for t in terms)


def _spelled_out(span: str, question_words: set[str]) -> list[str]:
    """The span's words without the runs of capitalised words whose initials spell one of the question's
    words: the question names that thing by its acronym."""
    tokens = [piece for token in span.split() for piece in token.split("-") if piece]
    kept, i = [], 0
    while i < len(tokens):
        end = _acronym_run_end(tokens, i, question_words)
        if end > i:
            i = end
        else:
            kept.append(tokens[i])
            i += 1
    return kept


def _acronym_run_end(tokens: list[str], start: int, question_words: set[str]) -> int:
    """The end of the longest run from `start` of capitalised words (joined by "of", "and", "on", "for",
    "the") whose initials are a question word of ACRONYM_MIN letters or more; `start` when there is none."""
    initials, best = "", start
    for i in range(start, len(tokens)):
        token = tokens[i].strip("(),.;:'\"“”’")
        if token.lower() in ACRONYM_JOINERS and initials:
            continue
        if not token[:1].isupper():
            break
        initials += token[0].lower()
        if len(initials) >= ACRONYM_MIN and initials in question_words:
            best = i + 1
    return best


def restates(novelty: float, keyword: float) -> bool:
    """Few words beyond the question's, or all of the question's words and little else."""
    return novelty < RESTATEMENT_NOVELTY or (keyword >= FULL_COVERAGE and novelty < RESTATEMENT_NOVELTY_FULL)


def _specific_quantity(text: str) -> bool:
    """ "1,500", "two", "$65 billion"; not "thousands", "billions of dollars" or "one of"."""
    tokens = words(text)
    if any(DIGITS.search(t) and not YEAR.fullmatch(t) for t in tokens):
        return True
    return any(t in NUMBER_WORDS for t in tokens) or (tokens == ["one"])


def _specific_date(text: str) -> bool:
    """ "Sunday", "March 2024", "2017", "a week"; not "last month" or "this year"."""
    tokens = set(words(text))
    if tokens & RELATIVE_WORDS:
        return False
    return bool(DIGITS.search(text)) or bool(tokens & CALENDAR_WORDS) or bool(tokens & DURATION_WORDS)


def specific_value(span: Span) -> bool:
    if span.label in ("DATE", "TIME"):
        return _specific_date(span.text)
    if span.label in NUMERIC_LABELS:
        return _specific_quantity(span.text)
    return True


def _has_name(text: str) -> bool:
    return any(w[:1].isupper() for w in text.split()[1:]) or text[:1].isupper() and len(text.split()) > 1


def is_value(span: Span) -> bool:
    """A span that can stand alone as the short answer. A noun phrase (not an entity) of several words
    opening its sentence with no capital after the first ("The usual way", "Notable command options")
    holds the sentence's capital, not a name: it tells the reader that a sentence answers, but is no
    value to show on its own."""
    words_ = span.text.split()
    if span.label != "NP" or span.start > 0 or len(words_) < 2:
        return True  # entities ("More than 1,500", "At least 5 days") and code are values wherever they stand
    return any(w[:1].isupper() for w in words_[1:])


def _quoted_command(text: str, token: Span) -> Span:
    """A token inside a quoted command line ("dpkg -S pattern", "sqlite3 test.db") answers as the whole
    command: the option or file alone ("-S", "test.db") does not say what to run."""
    for m in QUOTED.finditer(text):
        if m.start(1) < token.start and token.end <= m.end(1) and len(m.group(1).split()) >= 2:
            return Span(m.start(1), m.end(1), "CODE", m.group(1))
    return token


def _stem(word: str) -> str:
    terms = content_terms(word)
    return terms[0] if terms else word


def _counts_time(query: Query, span: Span) -> bool:
    """A DATE answers a count only as an age ("aged 54") or a span of time ("how long", "three weeks")."""
    return query.shape == "age" or bool(HOW_LONG.search(query.text)) or _duration(span.text)


def _duration(text: str) -> bool:
    return bool(set(words(text)) & DURATION_WORDS)


def _counts_focus(text: str, span: Span, query: Query, previous_terms: frozenset[str]) -> bool:
    """The count stands next to the counted thing ("two Chinese engineers", "1,500 people were killed"),
    and the sentence shares at least one other word with the question (the event counted)."""
    focus = set(query.focus)
    stems = set(content_terms(text))
    if not (set(query.terms) - focus) & (stems | previous_terms) and len(query.terms) > len(focus):
        return False
    before = content_terms(text[max(0, span.start - 30) : span.start])[-3:]
    after = content_terms(text[span.end : span.end + 50])[:4]
    return focus <= set(before + after + content_terms(span.text))


def nearness(text: str, span: Span, query: Query, reach: int = 80) -> float:
    """Share of the question's words that stand within `reach` characters of the span."""
    if not query.terms:
        return 0.0
    window = set(content_terms(text[max(0, span.start - reach) : span.end + reach]))
    return len(set(query.terms) & window) / len(set(query.terms))


CLOSENESS_SCALE = 3.0  # tokens between a span and a question word at which that word counts half


def closeness(text: str, span: Span, query: Query, weight: Callable[[str], float] = lambda term: 1.0) -> float:
    """How closely the question's words surround the span: per question word, 1 / (1 + gap / scale) for
    its nearest occurrence outside the span (gap in tokens), averaged over the question's words
    weighted by `weight` (their rarity: a word every sentence holds places nothing).

    Of two names in one sentence, the one standing by the asked role or thing answers
    ("Ambassador Jiang met Prime Minister Sharif" for "who is the ambassador")."""
    terms = set(query.terms)
    if not terms:
        return 0.0
    tokens = _stemmed_words(text)
    inside = [i for i, (lo, hi, _) in enumerate(tokens) if lo < span.end and hi > span.start]
    if not inside:
        return 0.0
    first, last = inside[0], inside[-1]
    nearest: dict[str, int] = {}
    for i, (_, _, stems) in enumerate(tokens):
        if first <= i <= last:
            continue
        gap = first - i - 1 if i < first else i - last - 1
        for stem in stems:
            if stem in terms and gap < nearest.get(stem, len(tokens)):
                nearest[stem] = gap
    total = sum(weight(t) for t in terms) or 1.0
    return sum(weight(t) / (1.0 + gap / CLOSENESS_SCALE) for t, gap in nearest.items()) / total


@lru_cache(maxsize=4096)
def _stemmed_words(text: str) -> tuple[tuple[int, int, tuple[str, ...]], ...]:
    """Each word of a sentence with its offsets and stems, once per sentence: closeness is asked for every
    value a sentence offers."""
    return tuple((lo, hi, tuple(content_terms(word))) for lo, hi, word in word_spans(text))
