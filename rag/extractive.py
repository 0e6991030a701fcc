"""The offline, deterministic reader: find the short answer in the retrieved sentences, and cite them.

Sentences of the retrieved passages are scored by
  meaning (cosine of MiniLM vectors computed at ingest) + keyword coverage of the question
  + whether the sentence holds what the question asks for: an entity of an expected type (OntoNotes
    labels from spaCy, see rag.nlp and rag.question) that the question does not already contain,
    standing near the question's words
  - a penalty for sentences that only restate the question.
The best sentence holding a candidate answers, and the candidate is the short answer; sentences from
other articles join when they cover more of the question, name further things asked for in the plural,
or give the asked-for value: the same value cites both articles, a different one is shown side by side.
Each part of a multi-part question is answered (or said missing) on its own. With no candidate of the
expected type, or (untyped questions) no sentence scoring above a floor, it abstains. Sentences that
are instructions to an assistant are never answers. A figure the question takes for granted is
checked against the articles.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag import nlp, shapes
from rag.embedding import Embedder
from rag.nlp import Annotation, Span
from rag.passages import Draft, Passage
from rag.question import Query, Wants, analyse, looks_like_instruction
from rag.schemas import Turn
from rag.store import StoredSentence
from rag.text import content_terms, content_terms_aligned, words

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
YEAR = re.compile(r"\b(19|20)\d\d\b")

W_COSINE, W_KEYWORD, W_PRIOR = 0.55, 0.45, 0.05  # meaning, keyword coverage, retrieval rank
W_NEAR = 0.10  # the candidate stands near the question's words
W_SPECIFIC = 0.05  # a date or figure that names its value ("Sunday") rather than relates it ("last month")
TYPE_BONUS, TYPE_MISSING = 0.12, -0.15  # holds / lacks what the question asks for
RESTATEMENT_PENALTY = -0.15  # a sentence that only repeats the question's words
ABSTAIN_SCORE = 0.40  # below this the best sentence is not taken as an answer
UNTYPED_ABSTAIN_SCORE = 0.40  # the floor for questions with no expected answer type (chosen on dev)
RESTATEMENT_NOVELTY = 0.35  # a sentence with less than this share of new words only restates
RESTATEMENT_NOVELTY_FULL = 0.5  # ... or with less than this share when it holds all of the question's words
FULL_COVERAGE = 0.9
TYPED_RATIO = 0.75  # a sentence holding the asked-for kind may lead if it scores this share of the best
WINDOW_SHARE = 0.8  # weight of keyword coverage counted together with the previous sentence
CONTEXT_WEIGHT = 0.3  # a follow-up's inherited words count less than its own
JOIN_RATIO = 0.75  # other sentences within this share of the best score may join the answer
MIN_GAIN = 0.15  # share of the question's weight a joining sentence must newly cover
LIST_JOIN_RATIO = 0.85  # for "which forces ...": another sentence naming something new joins above this share
DISAGREE_RATIO = 0.5  # another article's different amount is shown down to this share of the best score
VALUE_DISAGREE_RATIO = 0.8  # another article's different count or date is shown down to this share
MAX_SENTENCES = 3
SENTENCE_CACHE_CHUNKS = 20_000
NOT_SAID = "The articles do not say {what}"


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

    @property
    def value(self) -> str | None:
        return self.spans[0].text if self.spans else None


@dataclass
class _Entry:
    sentence: StoredSentence
    terms: frozenset[str]
    annotation: Annotation


class ExtractiveGenerator:
    name = "extractive"
    model: str | None = None
    prompt_version: str | None = None

    def __init__(
        self,
        embedder: Embedder,
        sentences_for: Callable[[Sequence[str]], list[StoredSentence]],
        idf: Callable[[str], float] | None = None,
    ) -> None:
        self.embedder = embedder
        self.sentences_for = sentences_for
        self.idf = idf or (lambda term: 1.0)
        self._cache: OrderedDict[str, list[_Entry]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def generate(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        query: Query | None = None,
        query_vector: np.ndarray | None = None,
    ) -> Draft:
        query = query or analyse(question, history)
        if not query.terms or not passages:
            return Draft(text="", abstained=True)
        vector = query_vector if query_vector is not None else self.embedder.embed_query(query.text)
        if query.parts:
            draft = self._multi_part(query, passages)
        else:
            chosen = self._select(query, vector, passages)
            draft = self._draft(chosen, query) if chosen else Draft(text="", abstained=True)
        premise = stated_premise(query)
        if premise:
            correction = self._contradicts(premise, passages)
            if correction is not None:
                # "... killed 500 people, why ...": say what the articles say first
                draft.quotes.setdefault(correction.passage.n, []).append(correction.text)
                lead = f"The articles do not say that: {_as_sentence(correction.text)} [{correction.passage.n}]"
                draft.text = f"{lead} {draft.text}".strip()
                draft.abstained = False
        return draft

    def stream(self, question: str, passages: list[Passage], history: list[Turn]) -> Iterator[str]:
        yield self.generate(question, passages, history).text

    def _multi_part(self, query: Query, passages: list[Passage]) -> Draft:
        """Each part answered on its own; a part with no answer is said to be missing."""
        texts, quotes, shorts, answered = [], {}, [], 0
        for part in query.parts:
            chosen = self._select(part, self.embedder.embed_query(part.text), passages)
            if not chosen:
                texts.append(NOT_SAID.format(what=_as_clause(part.text)))
                shorts.append("not found")
                continue
            answered += 1
            draft = self._draft(chosen, part)
            texts.append(draft.text)
            for n, qs in draft.quotes.items():
                quotes.setdefault(n, []).extend(q for q in qs if q not in quotes.get(n, []))
            shorts.append(draft.short_answer or "see the quote")
        if not answered:
            return Draft(text="", abstained=True)
        return Draft(text=" ".join(texts), quotes=quotes, short_answer="; ".join(shorts))

    def _contradicts(self, premise: str, passages: list[Passage]) -> Candidate | None:
        """The best sentence that gives a different figure for what the premise counts, if any."""
        claimed = _quantities(premise)
        tokens = words(premise)
        stems = content_terms_aligned(tokens)
        near = {
            stems[j]
            for i, t in enumerate(tokens)
            if _quantities(t) & claimed
            for j in range(max(0, i - 2), min(len(tokens), i + 3))
            if stems[j] and not _quantities(tokens[j])
        }
        if not claimed or not near:
            return None
        sub = Query(original=premise, text=premise, wants=Wants.any, terms=content_terms(premise))
        counting = [
            c
            for c in self._candidates(sub, self.embedder.embed_query(premise), passages)[:8]
            if _counts_near(c.text, near)
        ]
        if not counting or any(_quantities(c.text) & claimed for c in counting):
            return None  # nothing to check it against, or an article states the same figure
        # the sentence about the same event: most of the premise's other (rarest) words, then the best score
        event = set(sub.terms) - near
        return max(counting, key=lambda c: (sum(self.idf(t) for t in event & set(content_terms(c.text))), c.score))

    def _select(self, query: Query, vector: np.ndarray, passages: list[Passage]) -> list[Candidate]:
        """The sentences that answer one question, or [] when none does."""
        candidates = self._candidates(query, vector, passages)
        if not candidates:
            return []
        if query.types or query.focus_noun:
            # the best sentence that holds what was asked for (a date for "when", ...) leads, if it is
            # nearly as relevant as the best sentence overall
            floor = candidates[0].score * TYPED_RATIO
            typed = [c for c in candidates if c.holds_wanted and c.score >= floor]
            candidates = typed + [c for c in candidates if c not in typed]
        if not self._answers(query, candidates[0]):
            return []
        return self._combine(query, candidates)

    def _answers(self, query: Query, best: Candidate) -> bool:
        """Whether the best sentence holds an answer, rather than only being on the question's topic."""
        if best.score < ABSTAIN_SCORE or (_restates(best.novelty, best.keyword) and not best.spans):
            return False
        if not best.fits:
            return False
        if query.types:
            return best.holds_wanted
        return best.holds_wanted or best.score >= UNTYPED_ABSTAIN_SCORE

    # -- scoring -------------------------------------------------------------------------------
    def _sentences(self, chunk_ids: list[str]) -> list[_Entry]:
        """Sentences (with their terms and entities) of the given chunks, in chunk order.

        Cached by chunk id: ids embed the content hash, so a cached entry can never be stale. Entities
        come from the store when ingest wrote them, else they are computed here once, in one batch.
        """
        missing = [cid for cid in chunk_ids if cid not in self._cache]
        if missing:
            fetched: dict[str, list[StoredSentence]] = {cid: [] for cid in missing}
            for sentence in self.sentences_for(missing):
                fetched[sentence.chunk_id].append(sentence)
            metas = _annotations([s for rows in fetched.values() for s in rows])
            with self._cache_lock:
                for cid, rows in fetched.items():
                    self._cache[cid] = [
                        _Entry(s, frozenset(content_terms(s.text)), metas[id(s)])
                        for s in sorted(rows, key=lambda row: row.index)
                    ]
                while len(self._cache) > SENTENCE_CACHE_CHUNKS:
                    self._cache.popitem(last=False)
        out: list[_Entry] = []
        for cid in chunk_ids:
            out += self._cache.get(cid, [])
        return out

    def _candidates(self, query: Query, vector: np.ndarray, passages: list[Passage]) -> list[Candidate]:
        by_chunk = {p.chunk_id: p for p in passages}
        entries = self._sentences(list(by_chunk))
        if not entries:
            return []
        matrix = np.stack([e.sentence.embedding for e in entries])
        cosines = matrix @ vector
        q_terms = set(query.terms) | set(query.context_terms)
        weight = {t: self.idf(t) * (CONTEXT_WEIGHT if t not in query.terms else 1.0) for t in q_terms}
        q_weight = sum(weight.values()) or 1.0
        typed = bool(query.types)
        out = []
        previous_terms: frozenset[str] = frozenset()
        previous_chunk, previous = None, None
        for entry, cosine in zip(entries, cosines):
            sentence, s_terms = entry.sentence, entry.terms
            if sentence.chunk_id != previous_chunk:
                previous_terms, previous = frozenset(), None
            if looks_like_instruction(sentence.text):
                previous_terms, previous_chunk, previous = s_terms, sentence.chunk_id, None
                continue  # text addressed to an assistant is never an answer
            keyword = sum(weight[t] for t in q_terms & s_terms) / q_weight
            # A sentence that continues the previous one ("Formed in 2017, this unit ...") is about what
            # that sentence names: it may take part of the pair's keyword coverage.
            windowed = sum(weight[t] for t in q_terms & (s_terms | previous_terms)) / q_weight
            fits = shapes.fits_sentence(query, sentence.text, previous.sentence.text if previous else "")
            spans = answer_spans(sentence.text, query, entry.annotation, previous_terms) if fits else []
            spans.sort(key=lambda sp: -_nearness(sentence.text, sp, query) - W_SPECIFIC * _specific_value(sp))
            described = False
            if not spans and not typed and query.focus_noun and previous is not None:
                # reference docs: the signature line before ("json.dumps(obj, ...)") names what this describes
                spans = [sp for sp in _code_spans(previous.sentence.text) if not _in_question(sp.text, query)][:1]
                described = bool(spans)
            novelty = len(s_terms - q_terms) / max(len(s_terms), 1)
            passage = by_chunk[sentence.chunk_id]
            best_keyword = max(keyword, WINDOW_SHARE * windowed)
            score = W_COSINE * float(cosine) + W_KEYWORD * best_keyword + W_PRIOR / passage.n
            if typed:
                score += TYPE_BONUS if spans else TYPE_MISSING
            elif spans:
                score += TYPE_BONUS / 2
            if spans and not described:
                score += W_NEAR * _nearness(sentence.text, spans[0], query) + W_SPECIFIC * _specific_value(spans[0])
            if _restates(novelty, keyword) and not spans:  # only restates the question
                score += RESTATEMENT_PENALTY
            if not fits and not typed:
                score += TYPE_MISSING
            leans_on_previous = described or (bool(previous_terms) and windowed > 2 * keyword)
            out.append(
                Candidate(
                    passage,
                    sentence.text,
                    sentence.index,
                    float(cosine),
                    keyword,
                    bool(spans),
                    score,
                    leans_on_previous,
                    spans,
                    novelty,
                    fits,
                )
            )
            previous_terms, previous_chunk, previous = s_terms, sentence.chunk_id, entry
        out.sort(key=lambda c: (-c.score, c.passage.n, c.index))
        return out

    def _combine(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        """The best sentence, plus sentences from other documents that add to or contradict it.

        A sentence joins when it scores close to the best and either covers question words the chosen
        sentences miss, or, for a figure or date, gives one of its own (a disagreement to show, or an
        agreement to cite twice), or, for a plural question, names something new of the asked kind.
        """
        best = candidates[0]
        chosen = [best]
        covered = set(content_terms(best.text))
        many = query.plural
        valued = query.wants in (Wants.number, Wants.date)
        for other in candidates[1:]:
            if len(chosen) >= MAX_SENTENCES:
                break
            if other.score < best.score * JOIN_RATIO:
                # further down, only another article's different value of the asked kind may join:
                # "$65bn" in one, "$60bn" in another is a disagreement the reader must see
                if valued and other.score >= best.score * DISAGREE_RATIO and _disagrees(other, chosen, query):
                    chosen.append(other)
                continue
            if not many and any(other.passage.doc_id == c.passage.doc_id for c in chosen):
                continue
            if any(_same_text(other.text, c.text) for c in chosen):
                continue
            terms = set(content_terms(other.text))
            adds_words = sum(self.idf(t) for t in (set(query.terms) & terms) - covered) >= MIN_GAIN * sum(
                self.idf(t) for t in query.terms
            )
            gives_figure = valued and other.holds_wanted and _specific_value(other.spans[0])
            if gives_figure and query.wants is Wants.number and _amounts(best.text):
                gives_figure = bool(_amounts(best.text).keys() & _amounts(other.text).keys())  # same kind of amount
            named = {_norm(s.text) for c in chosen for s in c.spans}
            new_names = (
                many
                and other.score >= best.score * LIST_JOIN_RATIO
                and bool({_norm(s.text) for s in other.spans} - named)
            )
            if adds_words or gives_figure or new_names:
                chosen.append(other)
                covered |= terms
        return chosen

    def _previous_sentence(self, cand: Candidate) -> str | None:
        for entry in self._cache.get(cand.passage.chunk_id, []):
            if entry.sentence.index == cand.index - 1:
                return entry.sentence.text
        return None

    def _draft(self, chosen: list[Candidate], query: Query) -> Draft:
        quotes: dict[int, list[str]] = {}
        parts: list[tuple[str, list[int]]] = []  # (sentence, passage numbers citing it)
        valued = query.wants in (Wants.number, Wants.date)
        disagree = valued and any(_disagrees(c, chosen[:i], query) for i, c in enumerate(chosen) if i)
        for i, cand in enumerate(chosen):
            quotes.setdefault(cand.passage.n, []).append(cand.text)
            if i and valued and not disagree and _same_value(cand, chosen[0]):
                # another article agrees on the value: cite it on the lead sentence instead of repeating it
                if cand.passage.n not in parts[0][1]:
                    parts[0][1].append(cand.passage.n)
                continue
            if cand.leans_on_previous and not disagree:
                previous = self._previous_sentence(cand)
                if previous and all(previous != c.text for c in chosen):
                    quotes[cand.passage.n].append(previous)
                    parts.append((previous, [cand.passage.n]))
            sentence = cand.text
            if disagree:
                # which source says what is carried by the [n] marker; titles stay out of the claim text
                sentence = f"{'One article says' if i == 0 else 'Another says'}: {sentence}"
            parts.append((sentence, [cand.passage.n]))
        prefix = "The articles differ on this. " if disagree else ""
        text = " ".join(f"{_as_sentence(sentence)} {''.join(f'[{n}]' for n in ns)}" for sentence, ns in parts)
        return Draft(text=prefix + text, quotes=quotes, short_answer=_short_answer(chosen, query, disagree))


def _annotations(sentences: list[StoredSentence]) -> dict[int, Annotation]:
    """Each sentence's entities: stored at ingest when available, else computed in one batch."""
    out: dict[int, Annotation] = {}
    todo = []
    for s in sentences:
        if "ents" in s.meta:
            out[id(s)] = nlp.annotations_of(s.text, s.meta)
        else:
            todo.append(s)
    for s, annotation in zip(todo, nlp.annotate_many([s.text for s in todo])):
        out[id(s)] = annotation
    return out


def _short_answer(chosen: list[Candidate], query: Query, disagree: bool) -> str | None:
    """The asked-for value alone: one value, the different values side by side, or the names listed."""
    values: list[str] = []
    for cand in chosen if (disagree or query.plural or query.wants is Wants.number) else chosen[:1]:
        value = cand.value
        if value and _norm(value) not in {_norm(v) for v in values}:
            values.append(value)
        if not (disagree or query.plural):
            break
    if not values:
        return None
    return " / ".join(values) if disagree else ", ".join(values)


def _norm(text: str) -> str:
    return " ".join(content_terms(text))


def _same_value(a: Candidate, b: Candidate) -> bool:
    if a.value and b.value:
        return _norm(a.value) == _norm(b.value) or bool(_quantities(a.value) & _quantities(b.value))
    return _same_quantity(a.text, b.text)


def answer_spans(
    text: str, query: Query, annotation: Annotation, previous_terms: frozenset[str] = frozenset()
) -> list[Span]:
    """The short answers a sentence offers: entities of an expected type (or, for "which <noun>", names
    of that kind) that the question does not already contain."""
    if query.types:
        spans = [
            e
            for e in annotation.ents
            if e.label in query.types and not _in_question(e.text, query) and not _inside_code(text, e)
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
            spans = [e for e in spans if e.label != "DATE" or HOW_LONG.search(query.text) or _duration(e.text)]
        return [e for e in spans if shapes.fits_span(query, text, e)]
    if query.focus_noun:
        stem = _stem(query.focus_noun)
        named = [s for s in annotation.ents + annotation.chunks if stem in content_terms(s.text) and _has_name(s.text)]
        named += _code_spans(text)  # "which function ...": in technical text the name is an identifier
        return [s for s in named if not _in_question(s.text, query)]
    return []


def _inside_code(text: str, span: Span) -> bool:
    """ "Lib" in "Lib/pathlib.py" is part of a path, not a name."""
    before = text[span.start - 1] if span.start else " "
    after = text[span.end] if span.end < len(text) else " "
    if any(ch in span.text for ch in '()"%/=¶<>[]{}'):
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


def _code_spans(text: str) -> list[Span]:
    """Identifiers written as code: `dumps()`, `frozen=True`, `tempfile.TemporaryDirectory`."""
    return [Span(m.start(), m.end(), "CODE", m.group(0)) for m in CODE.finditer(text)]


def holds_wanted(text: str, query: Query, annotation: Annotation, previous_terms: frozenset[str] = frozenset()) -> bool:
    """Does the sentence hold the kind of thing the question asks for (beyond what the question says)?"""
    return bool(answer_spans(text, query, annotation, previous_terms))


def _in_question(span: str, query: Query) -> bool:
    """A span that adds nothing to the question: every word of it is already asked about."""
    terms = content_terms(span)
    asked = set(query.terms) | set(query.context_terms)
    return not terms or all(t in asked for t in terms)


def _restates(novelty: float, keyword: float) -> bool:
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


def _specific_value(span: Span) -> bool:
    if span.label in ("DATE", "TIME"):
        return _specific_date(span.text)
    if span.label in NUMERIC_LABELS:
        return _specific_quantity(span.text)
    return True


def _has_name(text: str) -> bool:
    return any(w[:1].isupper() for w in text.split()[1:]) or text[:1].isupper() and len(text.split()) > 1


def _stem(word: str) -> str:
    terms = content_terms(word)
    return terms[0] if terms else word


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


def _nearness(text: str, span: Span, query: Query, reach: int = 80) -> float:
    """Share of the question's words that stand within `reach` characters of the span."""
    if not query.terms:
        return 0.0
    window = set(content_terms(text[max(0, span.start - reach) : span.end + reach]))
    return len(set(query.terms) & window) / len(set(query.terms))


UNIT_CLASSES = {
    "money": re.compile(r"[$£€]\s?\d[\d,.]*\s*(?:bn|billion|million|m)?|\d[\d,.]*\s*(?:bn|billion|million)\b", re.I),
    "weight": re.compile(r"\d[\d,.]*\s*(?:kg|kilograms?|pounds|lbs|tons?|tonnes?)\b", re.I),
}


def _amounts(text: str) -> dict[str, set[str]]:
    found = {}
    for unit, pattern in UNIT_CLASSES.items():
        values = {re.sub(r"[^\d.]", "", m) for m in pattern.findall(text)}
        if values:
            found[unit] = values
    return found


def _disagrees(cand: Candidate, chosen: list[Candidate], query: Query) -> bool:
    """Another article giving a value of the asked kind that no chosen sentence gives: an amount of the
    same unit (money, weight), or a different count or date close enough in score to be about the same."""
    if any(cand.passage.doc_id == c.passage.doc_id for c in chosen):
        return False
    mine = _amounts(cand.text)
    theirs = [_amounts(c.text) for c in chosen]
    if any(unit in other and not (values & other[unit]) for unit, values in mine.items() for other in theirs):
        return True
    lead = chosen[0]
    if not (cand.value and lead.value) or cand.score < lead.score * VALUE_DISAGREE_RATIO:
        return False
    if not (_specific_value(cand.spans[0]) and _specific_value(lead.spans[0])):
        return False  # "last month" and "this month" in articles of different days need not differ
    return not any(_same_value(cand, c) for c in chosen if c.value)


def stated_premise(query: Query) -> str | None:
    """The claim a question takes for granted when it states a figure ("... killed 500 people, why ...?"):
    the clause holding the figure, unless the figure is what is asked about."""
    if query.wants is Wants.number:
        return None
    for clause in re.split(r"[,;:?]", query.text):
        if _quantities(clause) and not re.search(r"\b(how|what|which|who|when|where|why)\b", clause, re.I):
            return clause.strip()
    return None


def _counts_near(text: str, stems_wanted: set[str]) -> bool:
    """A specific quantity within a few words of one of the given stems."""
    tokens = words(text)
    stems = content_terms_aligned(tokens)
    for i, token in enumerate(tokens):
        specific = (bool(DIGITS.search(token)) and not YEAR.fullmatch(token)) or token in NUMBER_WORDS
        if specific and stems_wanted & set(stems[max(0, i - 4) : i] + stems[i + 1 : i + 5]):
            return True
    return False


def _quantities(text: str) -> set[str]:
    """Specific quantities in a text, normalised ("1,500" stays one number, "two" is "2"; years are dates)."""
    numbers = {m.replace(",", "") for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text) if not YEAR.fullmatch(m)}
    return numbers | {NUMBER_WORDS[w] for w in words(text) if w in NUMBER_WORDS}


def _same_quantity(a: str, b: str) -> bool:
    return bool(_quantities(a) & _quantities(b))


def _same_text(a: str, b: str) -> bool:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    return len(ta & tb) / max(min(len(ta), len(tb)), 1) > 0.8


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "”", '"', "’")) else text + "."


def _as_clause(question: str) -> str:
    """ "how big was the bomb?" -> "how big was the bomb." for "The articles do not say ..." """
    return _as_sentence(question.strip().rstrip("?").strip())
