"""The offline, deterministic answer generator: choose the sentences that answer, and cite them.

Sentences of the retrieved passages are scored by
  meaning (cosine of MiniLM vectors computed at ingest) + keyword coverage of the question
  + whether the sentence holds what the question asks for (a number, a date, a name, a place)
  - a penalty for sentences that only restate the question.
The best sentence that holds what was asked for answers; sentences from other articles join it
when they cover more of the question or give a figure: articles agreeing on a figure are cited
together, different amounts of the same kind are both shown. A figure the question takes for
granted is checked against the articles. When no sentence holds what was asked for, it abstains
instead of guessing.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.embedding import Embedder
from rag.passages import Draft, Passage
from rag.question import Query, Wants, analyse
from rag.schemas import Turn
from rag.store import StoredSentence
from rag.text import STOPWORDS, content_terms, content_terms_aligned, words

# Specific quantities. Vague ones ("thousands of", "several", "one of the") do not answer "how many".
NUMBER_WORDS = set(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred "
    "thousand million billion dozen".split()
)
DURATION_WORDS = set("minutes hours days week weeks month months year years decade decades".split())
HOW_LONG = re.compile(r"\bhow long\b", re.I)
# Words that make a capitalised phrase an organisation or place rather than a person.
NOT_PERSON = set(
    "army ministry institute university division unit corridor group force forces company bank council "
    "organisation organization police airport province brigade international security state foreign chinese "
    "pakistani china pakistan beijing islamabad karachi balochistan reuters the prime president premier "
    "minister south north east west asian asia belt road".split()
)
PERSON_NOUNS = (
    r"(driver|bomber|attacker|gunman|victim|engineer|leader|head|chief|minister|spokes(?:man|woman|person)"
    r"|official|suspect|person|man|woman|teacher|worker|commander|founder)s?"
)
PERSON_ASK = re.compile(
    rf"\bwho (is|was|are|were) the\b|\bnames? of (the |an? )?(\w+ ){{0,3}}{PERSON_NOUNS}\b"
    rf"|\bwhich {PERSON_NOUNS}\b",
    re.I,
)
MONTHS = (
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday"
).split()
DATE_PHRASES = re.compile(
    r"\b(last|this|next) (week|month|year)\b|\b(yesterday|today|ago|earlier this|since)\b|\b(19|20)\d\d\b", re.I
)
DIGITS = re.compile(r"\d")
YEAR = re.compile(r"\b(19|20)\d\d\b")
PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b([A-Z][a-zA-Z’'\-]+(?:\s+(?:of|the|for|and)?\s*[A-Z][a-zA-Z’'\-]+)*)")

W_COSINE, W_KEYWORD, W_PRIOR = 0.55, 0.45, 0.05  # meaning, keyword coverage, retrieval rank
TYPE_BONUS, TYPE_MISSING = 0.12, -0.15  # holds / lacks what the question asks for
RESTATEMENT_PENALTY = -0.15  # a sentence that only repeats the question's words
ABSTAIN_SCORE = 0.40  # below this the best sentence is not taken as an answer
TYPED_RATIO = 0.75  # a sentence holding the asked-for kind may lead if it scores this share of the best
WINDOW_SHARE = 0.8  # weight of keyword coverage counted together with the previous sentence
CONTEXT_WEIGHT = 0.3  # a follow-up's inherited words count less than its own
JOIN_RATIO = 0.75  # other sentences within this share of the best score may join the answer
MIN_GAIN = 0.15  # share of the question's weight a joining sentence must newly cover
LIST_JOIN_RATIO = 0.85  # for "which forces ...": another sentence naming something new joins above this share
DISAGREE_RATIO = 0.5  # another article's different amount is shown down to this share of the best score
MAX_SENTENCES = 3
SENTENCE_CACHE_CHUNKS = 20_000


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
        self._cache: OrderedDict[str, list[tuple[StoredSentence, frozenset[str]]]] = OrderedDict()
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
        chosen = self._select(query, vector, passages)
        draft = self._draft(chosen, query) if chosen else Draft(text="", abstained=True)
        premise = stated_premise(query.text)
        if premise:
            correction = self._contradicts(premise, passages)
            if correction is not None:
                # "Given that the attack killed 500 people, ...": say what the articles say first
                draft.quotes.setdefault(correction.passage.n, []).append(correction.text)
                lead = f"The articles do not say that: {_as_sentence(correction.text)} [{correction.passage.n}]"
                draft.text = f"{lead} {draft.text}".strip()
                draft.abstained = False
        return draft

    def _contradicts(self, premise: str, passages: list[Passage]) -> Candidate | None:
        """The best sentence that gives a different figure for what the premise counts, if any."""
        claimed = _quantities(premise)
        tokens = words(premise)
        stems = content_terms_aligned(tokens)
        near = {
            stems[j]
            for i, t in enumerate(tokens)
            if t in claimed
            for j in range(max(0, i - 2), min(len(tokens), i + 3))
            if stems[j] and tokens[j] not in claimed
        }
        if not claimed or not near:
            return None
        sub = analyse(premise)
        sub.focus = sorted(near)
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
        if query.wants is not Wants.any:
            # the best sentence that holds what was asked for (a date for "when", ...) leads, if it is
            # nearly as relevant as the best sentence overall
            floor = candidates[0].score * TYPED_RATIO
            typed = [c for c in candidates if c.holds_wanted and c.score >= floor]
            candidates = typed + [c for c in candidates if c not in typed]
        if not self._answers(query, candidates[0]):
            return []
        return self._combine(query, candidates)

    def stream(self, question: str, passages: list[Passage], history: list[Turn]) -> Iterator[str]:
        yield self.generate(question, passages, history).text

    def _answers(self, query: Query, best: Candidate) -> bool:
        """Whether the best sentence holds an answer, rather than only being on the question's topic."""
        if best.score < ABSTAIN_SCORE:
            return False
        if query.wants is not Wants.any and not best.holds_wanted:
            return False
        if PERSON_ASK.search(query.text) and query.wants is Wants.entity and not _person_names(best.text, query.text):
            return False
        return True

    # -- scoring -------------------------------------------------------------------------------
    def _sentences(self, chunk_ids: list[str]) -> list[tuple[StoredSentence, frozenset[str]]]:
        """Sentences (with their terms) of the given chunks, in chunk order.

        Cached by chunk id: ids embed the content hash, so a cached entry can never be stale.
        """
        missing = [cid for cid in chunk_ids if cid not in self._cache]
        if missing:
            fetched: dict[str, list] = {cid: [] for cid in missing}
            for sentence in self.sentences_for(missing):
                fetched[sentence.chunk_id].append((sentence, frozenset(content_terms(sentence.text))))
            with self._cache_lock:
                for cid, rows in fetched.items():
                    self._cache[cid] = sorted(rows, key=lambda row: row[0].index)
                while len(self._cache) > SENTENCE_CACHE_CHUNKS:
                    self._cache.popitem(last=False)
        out = []
        for cid in chunk_ids:
            out += self._cache.get(cid, [])
        return out

    def _candidates(self, query: Query, vector: np.ndarray, passages: list[Passage]) -> list[Candidate]:
        by_chunk = {p.chunk_id: p for p in passages}
        entries = self._sentences(list(by_chunk))
        if not entries:
            return []
        matrix = np.stack([sentence.embedding for sentence, _ in entries])
        cosines = matrix @ vector
        q_terms = set(query.terms) | set(query.context_terms)
        weight = {t: self.idf(t) * (CONTEXT_WEIGHT if t not in query.terms else 1.0) for t in q_terms}
        q_weight = sum(weight.values()) or 1.0
        out = []
        previous_terms: frozenset[str] = frozenset()
        previous_chunk = None
        for (sentence, s_terms), cosine in zip(entries, cosines):
            if sentence.chunk_id != previous_chunk:
                previous_terms = frozenset()
            keyword = sum(weight[t] for t in q_terms & s_terms) / q_weight
            # A sentence that continues the previous one ("Formed in 2017, this unit ...") is about what
            # that sentence names: it may take part of the pair's keyword coverage.
            windowed = sum(weight[t] for t in q_terms & (s_terms | previous_terms)) / q_weight
            holds = holds_wanted(sentence.text, query, previous_terms)
            novelty = len(s_terms - q_terms) / max(len(s_terms), 1)
            passage = by_chunk[sentence.chunk_id]
            best_keyword = max(keyword, WINDOW_SHARE * windowed)
            score = W_COSINE * float(cosine) + W_KEYWORD * best_keyword + W_PRIOR / passage.n
            if query.wants is not Wants.any:
                score += TYPE_BONUS if holds else TYPE_MISSING
            if novelty < 0.35:
                score += RESTATEMENT_PENALTY
            leans_on_previous = bool(previous_terms) and windowed > 2 * keyword
            out.append(
                Candidate(
                    passage, sentence.text, sentence.index, float(cosine), keyword, holds, score, leans_on_previous
                )
            )
            previous_terms, previous_chunk = s_terms, sentence.chunk_id
        out.sort(key=lambda c: (-c.score, c.passage.n, c.index))
        return out

    def _combine(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        """The best sentence, plus sentences from other documents that add to or contradict it.

        A sentence joins when it scores close to the best and either covers question words the chosen
        sentences miss (a multi-part question) or, for a figure or date, gives one of its own (a
        disagreement to show, or an agreement to cite twice).
        """
        best = candidates[0]
        chosen = [best]
        covered = set(content_terms(best.text))
        many = asks_for_list(query.text)
        for other in candidates[1:]:
            if len(chosen) >= MAX_SENTENCES:
                break
            if other.score < best.score * JOIN_RATIO:
                # further down, only another article's different amount of the same kind may join:
                # "$65bn" in one, "$60bn" in another is a disagreement the reader must see
                if (
                    query.wants is Wants.number
                    and other.score >= best.score * DISAGREE_RATIO
                    and _disagrees(other, chosen)
                ):
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
            gives_figure = query.wants in (Wants.number, Wants.date) and other.holds_wanted
            if gives_figure and query.wants is Wants.number and _amounts(best.text):
                gives_figure = bool(_amounts(best.text).keys() & _amounts(other.text).keys())  # same kind of amount
            new_names = (
                many
                and other.score >= best.score * LIST_JOIN_RATIO
                and bool(
                    set(_names(other.text, query.text)) - set().union(*(_names(c.text, query.text) for c in chosen))
                )
            )
            if adds_words or gives_figure or new_names:
                chosen.append(other)
                covered |= terms
        return chosen

    def _previous_sentence(self, cand: Candidate) -> str | None:
        for sentence, _ in self._cache.get(cand.passage.chunk_id, []):
            if sentence.index == cand.index - 1:
                return sentence.text
        return None

    def _draft(self, chosen: list[Candidate], query: Query) -> Draft:
        quotes: dict[int, list[str]] = {}
        parts: list[tuple[str, list[int]]] = []  # (sentence, passage numbers citing it)
        disagree = query.wants is Wants.number and any(_disagrees(c, chosen[:i]) for i, c in enumerate(chosen) if i)
        for i, cand in enumerate(chosen):
            quotes.setdefault(cand.passage.n, []).append(cand.text)
            if i and query.wants is Wants.number and not disagree and _same_quantity(cand.text, chosen[0].text):
                # another article agrees on the figure: cite it on the lead sentence instead of repeating it
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
        return Draft(text=prefix + text, quotes=quotes)


def holds_wanted(text: str, query: Query, previous_terms: frozenset[str] = frozenset()) -> bool:
    """Does the sentence hold the kind of thing the question asks for (beyond what the question says)?"""
    q_words = set(words(query.text))
    match query.wants:
        case Wants.number:
            found = set(words(text)) - q_words
            if HOW_LONG.search(query.text) and found & DURATION_WORDS:
                return True
            if query.focus:
                return _counts_focus(text, query, previous_terms)
            quantities = DIGITS.search(YEAR.sub("", text))  # "since 2013" is a date, not a quantity
            return bool(quantities) or bool(found & NUMBER_WORDS)
        case Wants.date:
            lowered = text.lower()
            return any(m in lowered for m in MONTHS) or bool(DATE_PHRASES.search(text))
        case Wants.entity | Wants.place:
            names = _names(text, query.text, single_words=query.wants is Wants.place)
            kind = PLACE_KIND.search(query.text)
            if kind:  # "which airport ...": the name must be one of that kind ("Jinnah International Airport")
                word = kind.group(1).lower().rstrip("s")
                names = [n for n in names if word in n.lower() or re.search(rf"{re.escape(n)}\s+{word}", text, re.I)]
            if PERSON_ASK.search(query.text) and query.wants is Wants.entity:
                return bool(_person_names(text, query.text))
            if query.wants is Wants.entity:  # "who ...": a place is not an answer
                names = [n for n in names if not set(n.lower().split()) & PLACE_WORDS]
            if ORG_ASK.search(query.text):
                return any(_is_org(n) for n in names)
            return bool(names)
    return True


def _counts_focus(text: str, query: Query, previous_terms: frozenset[str]) -> bool:
    """A specific quantity stands next to the counted thing ("two Chinese engineers", "1,500 people were
    killed"), and the sentence shares at least one other word with the question (the event counted)."""
    tokens = words(text)
    stems = content_terms_aligned(tokens)
    focus = set(query.focus)
    if not (set(query.terms) - focus) & (set(stems) | previous_terms) and len(query.terms) > len(focus):
        return False
    for i, token in enumerate(tokens):
        specific = (bool(DIGITS.search(token)) and not YEAR.fullmatch(token)) or token in NUMBER_WORDS
        if specific and focus <= set(stems[max(0, i - 3) : i] + stems[i + 1 : i + 5]):
            return True
    return False


ORG_ASK = re.compile(
    r"\b(which|what) (\w+ )?(group|organi[sz]ation|agency|ministry|body|bodies|company|firm|unit|force|militant)",
    re.I,
)
ORG_WORDS = set(
    "army front group brigade taliban movement organisation organization ministry agency company corporation "
    "division unit force forces council committee institute bank police navy mechanism".split()
)


PLACE_KIND = re.compile(r"\bwhich (airport|port|dam|university)s?\b", re.I)  # kinds whose names carry the kind
PLACE_WORDS = set("airport province city port dam district town valley region street road".split())


def _is_org(name: str) -> bool:
    return name.isupper() or bool(set(name.lower().split()) & ORG_WORDS)


def _names(text: str, question: str, single_words: bool = False) -> list[str]:
    """Names the question does not already contain: multi-word capitalised phrases, acronyms, quoted names
    (and, for places, single capitalised words)."""
    lowered = question.lower()
    found = [n for n in PROPER.findall(text) if single_words or " " in n or n.isupper()]
    found += re.findall(r"\b[A-Z]{2,6}\b", text) + re.findall(r"[“\"]([A-Z][^”\"]{1,40})[”\"]", text)
    return [n for n in found if n.lower() not in lowered]


def _person_names(text: str, question: str) -> list[str]:
    """Person-like names (two or more capitalised words, none a place, organisation, month or function
    word) that the question does not contain. When the question names a role ("power minister", "driver",
    "leader"), the name must stand within a few words of that role in the sentence."""
    lowered_q = question.lower()
    role = _asked_role(question)
    out = []
    for match in re.finditer(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b", text):
        name = match.group(1)
        parts = set(name.lower().split())
        if name.lower() in lowered_q or parts & NOT_PERSON or parts & STOPWORDS or parts & set(MONTHS):
            continue
        if role and not _near(text, match.start(), match.end(), role):
            continue
        out.append(name)
    return out


def _asked_role(question: str) -> str | None:
    """The stem of the role a person question asks about, e.g. "minist" in "who is the power minister"."""
    match = re.search(rf"{PERSON_NOUNS}\b", question, re.I)
    if match:
        return content_terms(match.group(0))[0] if content_terms(match.group(0)) else None
    return None


def _near(text: str, start: int, end: int, role: str, reach: int = 60) -> bool:
    window = text[max(0, start - reach) : end + reach]
    return role in content_terms(window)


LIST_ASK = re.compile(
    r"\b(which|what)\s+(?!(?:has|was|is|does|did|were|are|have)\b)(?:[\w-]+\s+){0,3}?"
    r"(?!(?:has|was|is|does|news|press|its|this|us)\b)([a-z-]{3,}(?:ies|s))\b",
    re.I,
)


def asks_for_list(text: str) -> bool:
    """ "Which forces ...", "What earlier attacks ...": a plural thing asked for, so several answers."""
    return bool(LIST_ASK.search(text))


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


def _disagrees(cand: Candidate, chosen: list[Candidate]) -> bool:
    """Another article giving an amount of the same kind (money, weight) that no chosen sentence gives."""
    if any(cand.passage.doc_id == c.passage.doc_id for c in chosen):
        return False
    mine = _amounts(cand.text)
    theirs = [_amounts(c.text) for c in chosen]
    return any(unit in other and not (values & other[unit]) for unit, values in mine.items() for other in theirs)


PREMISE = re.compile(r"^\s*(?:given that|since|considering(?: that)?|now that|because|as)\s+([^,?]+),", re.I)


def stated_premise(text: str) -> str | None:
    """The claim a question takes for granted ("Given that X, why ...?") when it states a figure."""
    match = PREMISE.match(text)
    return match.group(1) if match and _quantities(match.group(1)) else None


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
    """Specific quantities in a text, normalised ("1,500" stays one number; years are dates, not counts)."""
    numbers = {m.replace(",", "") for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text) if not YEAR.fullmatch(m)}
    return numbers | {w for w in words(text) if w in NUMBER_WORDS}


def _same_quantity(a: str, b: str) -> bool:
    return bool(_quantities(a) & _quantities(b))


def _same_text(a: str, b: str) -> bool:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    return len(ta & tb) / max(min(len(ta), len(tb)), 1) > 0.8


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "”", '"', "’")) else text + "."
