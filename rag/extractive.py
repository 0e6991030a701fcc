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

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag import focus, nlp, shapes, versions
from rag.announced import MAX_ITEMS, Binding, announced_block, announces, bindings, entry_term, is_clause
from rag.answer_values import (
    Candidate,
    as_clause,
    as_sentence,
    counts_near,
    disagrees,
    name_variants,
    quantities,
    same_value,
    short_answer,
    stated_premise,
)
from rag.code_tokens import code_tokens, new_to
from rag.combine import TIE_RATIO, combine
from rag.embedding import Embedder
from rag.leads import code_lead, drop_repeated_leads, named, paragraph_lead, section_lead
from rag.nlp import Annotation, Span
from rag.passages import Draft, Passage
from rag.question import Query, Wants, analyse, looks_like_instruction
from rag.schemas import Turn
from rag.spans import (
    acronym_of_question,
    answer_spans,
    closeness,
    code_spans,
    in_question,
    nearness,
    offers_new_name,
    points_elsewhere,
    polar,
    restates,
    specific_value,
)
from rag.store import StoredSentence
from rag.text import content_terms, content_terms_aligned, keyword_terms, words

__all__ = ["ExtractiveGenerator", "answer_spans", "stated_premise"]

W_COSINE, W_KEYWORD, W_PRIOR = 0.55, 0.45, 0.05  # meaning, keyword coverage, retrieval rank
W_NEAR = 0.10  # the candidate stands near the question's words
W_POLAR = 0.08  # yes/no questions: the sentence holds a negation, restriction or condition
W_NEW_NAME = 0.08  # untyped questions: the sentence names something (a person, group, product...) the question does not
W_INSTANCE = 0.06  # "which hospital": the sentence names a hospital the question does not (rag.focus)
W_SPECIFIC = 0.05  # a date or figure that names its value ("Sunday") rather than relates it ("last month")
TYPE_BONUS, TYPE_MISSING = 0.12, -0.15  # holds / lacks what the question asks for
RESTATEMENT_PENALTY = -0.15  # a sentence that only repeats the question's words
# share (by rarity) of the question's subject near a sentence offering a value; midway in the dev gap
# (unanswerables that reach this check score 0.283 at most, answerables 0.339 at least, bar one paraphrase at 0)
SUBJECT_COVERAGE = 0.31
ABSTAIN_SCORE = 0.40  # below this the best sentence is not taken as an answer
# ... unless an untyped question's sentence offers the asked-for kind: dev answerables rescued score 0.337
# and up, no dev unanswerable that offers it (and fits) scores in 0.30-0.40 (0.30 and 0.33 give the same dev results)
EVIDENCED_SCORE = 0.33
UNTYPED_ABSTAIN_SCORE = 0.40  # the floor for questions with no expected answer type (chosen on dev)
# a sentence's value that no question word stands near is not put forward alone as the answer (its
# quote still is): on dev, 18 of 89 short answers scored below this, 13 of them wrong
SHORT_CLOSENESS = 0.03
# ... nor an instance of an untyped question's focus noun that the question's other words stand this far
# from: on dev, instances leading answers scored 0.089 and up, those leading unanswerables 0.060 at most
INSTANCE_CLOSENESS = 0.075
TYPED_RATIO = 0.75  # a sentence holding the asked-for kind may lead if it scores this share of the best
WINDOW_SHARE = 0.8  # weight of keyword coverage counted together with the previous sentence
CONTEXT_WEIGHT = 0.3  # a follow-up's inherited words count less than its own
SENTENCE_CACHE_CHUNKS = 20_000
NOT_SAID = "The articles do not say {what}"


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
        self.focus_nouns = focus.FocusNouns(embedder)

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
                lead = f"The articles do not say that: {as_sentence(correction.text)} [{correction.passage.n}]"
                draft.text = f"{lead} {draft.text}".strip()
                draft.abstained = False
        return draft

    def stream(self, question: str, passages: list[Passage], history: list[Turn]) -> Iterator[str]:
        yield self.generate(question, passages, history).text

    def _multi_part(self, query: Query, passages: list[Passage]) -> Draft:
        """Each part answered on its own; a part with no answer is said to be missing."""
        texts, quotes, shorts, answered = [], {}, [], 0
        quoted: set[str] = set()
        for part in query.parts:
            chosen = self._select(part, self.embedder.embed_query(part.text), passages)
            if not chosen:
                texts.append(NOT_SAID.format(what=as_clause(part.text)))
                shorts.append("not found")
                continue
            answered += 1
            fresh = [c for c in chosen if c.text not in quoted]  # a sentence an earlier part quoted is not repeated
            draft = self._draft(chosen, part)
            quoted |= {q for qs in draft.quotes.values() for q in qs}
            if fresh:
                texts.append(self._draft(fresh, part).text if len(fresh) < len(chosen) else draft.text)
            for n, qs in draft.quotes.items():
                quotes.setdefault(n, []).extend(q for q in qs if q not in quotes.get(n, []))
            shorts.append(draft.short_answer or "see the quote")
        if not answered:
            return Draft(text="", abstained=True)
        # a short answer only when some part has one ("see the quote; see the quote" tells a reader nothing)
        short = "; ".join(shorts) if any(s not in {"see the quote", "not found"} for s in shorts) else None
        return Draft(text=" ".join(texts), quotes=quotes, short_answer=short)

    def _contradicts(self, premise: str, passages: list[Passage]) -> Candidate | None:
        """The best sentence that gives a different figure for what the premise counts, if any."""
        claimed = quantities(premise)
        tokens = words(premise)
        stems = content_terms_aligned(tokens)
        near = {
            stems[j]
            for i, t in enumerate(tokens)
            if quantities(t) & claimed
            for j in range(max(0, i - 2), min(len(tokens), i + 3))
            if stems[j] and not quantities(tokens[j])
        }
        if not claimed or not near:
            return None
        sub = Query(original=premise, text=premise, wants=Wants.any, terms=content_terms(premise))
        counting = [
            c
            for c in self._candidates(sub, self.embedder.embed_query(premise), passages)[:8]
            if counts_near(c.text, near)
        ]
        if not counting or any(quantities(c.text) & claimed for c in counting):
            return None  # nothing to check it against, or an article states the same figure
        # the sentence about the same event: most of the premise's other (rarest) words, then the best score
        event = set(sub.terms) - near
        return max(counting, key=lambda c: (sum(self.idf(t) for t in event & set(content_terms(c.text))), c.score))

    def _select(self, query: Query, vector: np.ndarray, passages: list[Passage]) -> list[Candidate]:
        """The sentences that answer one question, or [] when none does."""
        candidates = versions.about_asked_release(query, self._candidates(query, vector, passages))
        if not candidates:
            return []
        concept = focus.concept(query)
        named = (
            [c for c in candidates if c.instance and c.score >= candidates[0].score * TYPED_RATIO] if concept else []
        )
        if named:
            # "which hospital": a sentence naming one (nearly as relevant as the best sentence) leads
            candidates = named + [c for c in candidates if not c.instance]
        elif concept and not _mentions(concept, candidates):
            return []  # no sentence names one, nor even speaks of one: the documents do not say which
        elif query.types or query.focus_noun or query.asks_code:
            # the best sentence that holds what was asked for (a date for "when", ...) leads, if it is
            # nearly as relevant as the best sentence overall
            floor = candidates[0].score * TYPED_RATIO
            typed = [c for c in candidates if c.holds_wanted and c.score >= floor]
            candidates = typed + [c for c in candidates if c not in typed]
        lead = self._subject_lead(query, candidates, passages)
        if lead is None or not self._answers(query, lead, named_required=bool(named)):
            return []
        if lead is not candidates[0]:
            candidates = [lead] + [c for c in candidates if c is not lead]
        return combine(query, candidates, self.idf)

    def _subject_lead(self, query: Query, candidates: list[Candidate], passages: list[Passage]) -> Candidate | None:
        """The best sentence, or when it gives its value for another subject, a runner-up tied with it that
        is about the question's own. Only for plural questions: each answering sentence may name one of the
        things asked for and hold only its part of the subject ("which groups let a user use the sound card
        and edit network connections": one sentence names the audio group, its tie the network one), and at
        a near tie the score cannot tell which of the two should lead."""
        best = candidates[0]
        if self._about_subject(query, best, passages):
            return best
        if not query.plural:
            return None  # one thing asked for: the best sentence's subject decides
        for other in candidates[1:]:
            if other.score < best.score * TIE_RATIO:
                return None
            if other.holds_wanted >= best.holds_wanted and self._about_subject(query, other, passages):
                return other
        return None

    def _answers(self, query: Query, best: Candidate, named_required: bool = False) -> bool:
        """Whether the best sentence holds an answer, rather than only being on the question's topic."""
        # an untyped answer offering the asked-for kind (a command for "how do i ...", a name of the focus
        # noun) is evidence of its own: it needs less of the score a sentence offering nothing needs
        floor = ABSTAIN_SCORE if query.types or not best.holds_wanted else EVIDENCED_SCORE
        if best.score < floor or (restates(best.novelty, best.keyword) and not best.spans):
            return False
        if not best.fits or (named_required and not best.instance):
            return False
        if query.types:
            return best.holds_wanted
        return best.holds_wanted or best.score >= UNTYPED_ABSTAIN_SCORE

    def _about_subject(self, query: Query, best: Candidate, passages: list[Passage]) -> bool:
        """Whether a sentence offering a value gives it for the question's own subject: the names and
        compound nouns of the question ("the *port qasim plant*", "*panda bonds*") that the retrieved
        passages hold stand, weighted by rarity, mostly in the sentence, next to it or in its section.
        Otherwise it is a value of another subject (a count of the city's victims for "how many work at
        the plant"). Sentences offering no value are judged by score alone (`_answers`)."""
        if not best.holds_wanted or not query.subject:
            return True
        entries = self._sentences([p.chunk_id for p in passages])
        present = frozenset().union(*(e.terms for e in entries))
        subject = [t for t in query.subject if t in present]  # typos and paraphrase hold nothing to check
        if not subject:
            return True
        window = self._window_terms(best)
        covered = sum(self.idf(t) for t in subject if t in window) / sum(self.idf(t) for t in subject)
        return covered >= SUBJECT_COVERAGE

    def _window_terms(self, cand: Candidate) -> set[str]:
        """Terms of a candidate, its neighbours in the chunk, the sentence it introduces, and its section."""
        terms = set(keyword_terms(cand.text))
        for entry in self._cache.get(cand.passage.chunk_id, []):
            if cand.index - 1 <= entry.sentence.index <= cand.index + 1:
                terms |= entry.terms
        section = cand.passage.metadata.get("section") or ""
        return terms | set(keyword_terms(f"{section} {cand.passage.title} {' '.join(cand.follows)}"))

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
                        _Entry(s, frozenset(keyword_terms(s.text)), metas[id(s)])
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
        concept = focus.concept(query)
        if concept:
            self.focus_nouns.prepare(concept, [(e.sentence.text, e.annotation) for e in entries])
        out = []
        previous_terms: frozenset[str] = frozenset()
        previous_chunk, previous = None, None
        bound = _bound(entries, by_chunk)
        annotation_of = {e.sentence.text: e.annotation for e in entries}
        for entry, cosine in zip(entries, cosines):
            sentence, s_terms = entry.sentence, entry.terms
            if sentence.chunk_id != previous_chunk:
                previous_terms, previous = frozenset(), None
            binding = bound[id(entry)]
            if binding.announcer is not None:
                # an entry of an announced list is about what its announcing sentence names
                previous_terms = frozenset(keyword_terms(binding.announcer))
            if looks_like_instruction(sentence.text) or points_elsewhere(sentence.text):
                previous_terms, previous_chunk, previous = s_terms, sentence.chunk_id, None
                continue  # text addressed to an assistant, or a cross-reference ("See Section 9.1"), never answers
            keyword = sum(weight[t] for t in q_terms & s_terms) / q_weight
            # A sentence that continues the previous one ("Formed in 2017, this unit ...") is about what
            # that sentence names: it may take part of the pair's keyword coverage.
            windowed = sum(weight[t] for t in q_terms & (s_terms | previous_terms)) / q_weight
            fits = shapes.fits_sentence(query, sentence.text, previous.sentence.text if previous else "")
            spans = answer_spans(sentence.text, query, entry.annotation, previous_terms) if fits else []
            close = {id(sp): closeness(sentence.text, sp, query, self.idf) for sp in spans}
            spans.sort(key=lambda sp: -close[id(sp)] - W_SPECIFIC * specific_value(sp))
            instances = self._instances(sentence.text, entry.annotation, query) if concept else []
            fits = fits or bool(instances)  # "the Aga Khan clinic" names a hospital without the word
            spans = instances + [sp for sp in spans if all(sp.start != i.start for i in instances)]
            described, near_text = False, sentence.text
            follows, announced, near = (
                self._announced(query, by_chunk[sentence.chunk_id].text, entry, binding, annotation_of)
                if fits
                else ((), [], sentence.text)
            )
            if follows:
                # "... use the following command:" then the command, "... the following helpers:" then the
                # entries: what the question asks for stands in what the sentence announces
                spans, near_text = (announced, near) if announced else (spans, sentence.text)
                if concept and announced and _announces_focus(query, entry):
                    instances = instances or announced  # "... the following helpers:": its entries name helpers
            if not spans and not typed and query.focus_noun and previous is not None:
                # reference docs: the signature line before ("json.dumps(obj, ...)") names what this describes
                spans = [sp for sp in code_spans(previous.sentence.text) if not in_question(sp.text, query)][:1]
                described = bool(spans)
            novelty = len(s_terms - q_terms) / max(len(s_terms), 1)
            passage = by_chunk[sentence.chunk_id]
            best_keyword = max(keyword, WINDOW_SHARE * windowed)
            score = W_COSINE * float(cosine) + W_KEYWORD * best_keyword + W_PRIOR / passage.n
            if typed:
                score += TYPE_BONUS if spans else TYPE_MISSING
            elif concept:
                score += W_INSTANCE if instances else 0.0  # its other values (code tokens) name no instance
            elif spans:
                score += TYPE_BONUS / 2
            elif offers_new_name(sentence.text, query, entry.annotation):
                score += W_NEW_NAME
            if spans and not described:
                score += W_NEAR * nearness(near_text, spans[0], query) + W_SPECIFIC * specific_value(spans[0])
            if query.yes_no and polar(sentence.text):
                score += W_POLAR
            if restates(novelty, keyword) and not spans:  # only restates the question
                score += RESTATEMENT_PENALTY
            if not fits and not typed:
                score += TYPE_MISSING
            leans_on_previous = (
                described or binding.announcer is not None or (bool(previous_terms) and windowed > 2 * keyword)
            )
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
                    follows,
                    faint=frozenset(
                        id(sp)
                        for sp in spans
                        if close.get(id(sp), 1.0) < SHORT_CLOSENESS or acronym_of_question(sp.text, query)
                    ),
                    announcer=binding.announcer,
                    instance=bool(instances),
                )
            )
            previous_terms, previous_chunk, previous = s_terms, sentence.chunk_id, entry
        out = _clauses_joined(out)
        out.sort(key=lambda c: (-c.score, c.passage.n, c.index))
        return out

    def _announced(
        self, query: Query, chunk_text: str, entry: _Entry, binding: Binding, annotation_of: dict[str, Annotation]
    ) -> tuple[tuple[str, ...], list[Span], str]:
        """What an announcing sentence announces (its code block, or the entries of its list: the first,
        all of them for a plural question), the asked-for spans standing there, and the text they stand in."""
        block = announced_block(chunk_text, entry.sentence.text) if announces(entry.sentence.text) else None
        if block is not None and block.lower() not in query.text.lower():
            if query.asks_code:  # the command is what is asked for
                return (block,), [Span(0, len(block), "CODE", block)], block
            if _announces_focus(query, entry):  # "which macro ..." and "... use the following macro:"
                return (block,), [t for t in code_tokens(block) if new_to(query.text, t)][:1], block
            return (block,), [], entry.sentence.text
        # a plural question asks for every entry, and entries continuing the sentence in lower case
        # ("one of the following: the --template option; ...; or the default") are all of its answer
        every = query.plural or all(is_clause(i) for i in binding.items)
        items = binding.items[:MAX_ITEMS] if every else self._best_entry(query, binding.items)
        for item in items:
            spans = answer_spans(item, query, annotation_of[item], entry.terms) or _entry_name(query, entry, item)
            if spans:
                return items, spans, item
        return items, [], entry.sentence.text

    def _best_entry(self, query: Query, items: tuple[str, ...]) -> tuple[str, ...]:
        """The announced entry a singular question asks about: the one holding most of the question's
        words (by rarity), the first at a tie ("which option prints the names of the files": the entry
        "--verbose, -v: Print the names of the files it examines", not the first option listed)."""
        if not items:
            return ()
        asked = set(query.terms)
        return (max(items, key=lambda item: sum(self.idf(t) for t in asked & set(keyword_terms(item)))),)

    def _instances(self, text: str, annotation: Annotation, query: Query) -> list[Span]:
        """The focus noun's instances a sentence names that the question's other words stand near ("21
        release" in an example far from the rest of the question is no answer to "which release added X")."""
        found = self.focus_nouns.instances(text, annotation, query)
        rest = focus.without_concept(query)
        return [sp for sp in found if closeness(text, sp, rest, self.idf) >= INSTANCE_CLOSENESS]

    def _previous_sentence(self, cand: Candidate) -> str | None:
        if cand.announcer is not None:  # an entry of a list: the sentence announcing it says what it is
            return cand.announcer
        for entry in self._cache.get(cand.passage.chunk_id, []):
            if entry.sentence.index == cand.index - 1:
                return entry.sentence.text
        return None

    def _draft(self, chosen: list[Candidate], query: Query) -> Draft:
        quotes: dict[int, list[str]] = {}
        parts: list[tuple[str, list[int]]] = []  # (sentence, passage numbers citing it)
        valued = query.wants in (Wants.number, Wants.date)
        disagree = valued and any(disagrees(c, chosen[:i], query) for i, c in enumerate(chosen) if i)
        disagree = disagree or _named_differently(chosen, query)
        for i, cand in enumerate(chosen):
            quotes.setdefault(cand.passage.n, []).append(cand.text)
            if i and valued and not disagree and same_value(cand, chosen[0]):
                # another article agrees on the value: cite it on the lead sentence instead of repeating it
                if cand.passage.n not in parts[0][1]:
                    parts[0][1].append(cand.passage.n)
                continue
            if cand.leans_on_previous and not disagree:
                previous = self._previous_sentence(cand)
                if previous and all(previous != c.text for c in chosen):
                    quotes[cand.passage.n].append(previous)
                    parts.append((previous, [cand.passage.n]))
            # a reference entry's sentence names the entry
            sentence = named(cand.text, cand.passage.text, cand.passage.metadata.get("section"))
            if disagree:
                # which source says what is carried by the [n] marker; titles stay out of the claim text
                sentence = f"{'One article says' if i == 0 else 'Another says'}: {sentence}"
            parts.append((sentence, [cand.passage.n]))
            for follow in cand.follows:
                if all(follow != c.text for c in chosen) and follow not in quotes[cand.passage.n]:
                    quotes[cand.passage.n].append(follow)
                    parts.append((follow, [cand.passage.n]))
        prefix = "The articles differ on this. " if disagree else ""
        parts = drop_repeated_leads(parts)
        text = " ".join(f"{as_sentence(sentence)} {''.join(f'[{n}]' for n in ns)}" for sentence, ns in parts)
        short = short_answer(chosen, query, disagree)
        if not (disagree or query.plural):
            short = entry_answer(chosen[0], query) or short
        return Draft(text=prefix + text, quotes=quotes, short_answer=short)


def _clauses_joined(candidates: list[Candidate]) -> list[Candidate]:
    """Entries continuing their announcing sentence in lower case ("one of the following:" then "the
    --template option;" ... "or the default directory") are parts of that sentence: the announcing
    sentence, which quotes them all, answers in their place, with the best entry's score and values."""
    by_text = {(c.passage.chunk_id, c.text): c for c in candidates}
    joined = set()
    for cand in candidates:
        announcing = by_text.get((cand.passage.chunk_id, cand.announcer or ""))
        if announcing is None or not is_clause(cand.text) or cand.text not in announcing.follows:
            continue
        joined.add(id(cand))
        if cand.score > announcing.score:
            announcing.score, announcing.holds_wanted = cand.score, cand.holds_wanted or announcing.holds_wanted
            if not announcing.spans:
                announcing.spans, announcing.faint = cand.spans, cand.faint
    return [c for c in candidates if id(c) not in joined]


def _entry_name(query: Query, announcing: _Entry, item: str) -> list[Span]:
    """ "Git currently includes the following helpers:" then "cache: Cache credentials ...": for "which
    helpers ...", the term leading each entry is a name of the noun the sentence announces."""
    term = entry_term(item)
    if not term or in_question(term, query) or not _announces_focus(query, announcing):
        return []
    return [Span(0, len(term), "CODE", term)]


def _mentions(concept: str, candidates: list[Candidate]) -> bool:
    """Whether a retrieved sentence speaks of the focus noun at all ("the operator", "this range"): then a
    sentence naming no instance may still answer (a table row, a value without a name)."""
    stems = set(content_terms(concept))
    return any(stems <= set(keyword_terms(c.text)) for c in candidates)


def _announces_focus(query: Query, announcing: _Entry) -> bool:
    """An untyped "which <noun>" question, and a sentence announcing things of that noun ("... the
    following helpers:"): what it announces names them."""
    return bool(query.focus_noun) and not query.types and set(content_terms(query.focus_noun)) <= announcing.terms


def _bound(entries: list[_Entry], by_chunk: dict[str, Passage]) -> dict[int, Binding]:
    """Each sentence's binding to what it announces or to its announcer, chunk by chunk (by id(entry))."""
    out: dict[int, Binding] = {}
    start = 0
    for end in range(1, len(entries) + 1):
        if end == len(entries) or entries[end].sentence.chunk_id != entries[start].sentence.chunk_id:
            run = entries[start:end]
            chunk_text = by_chunk[run[0].sentence.chunk_id].text
            for e, b in zip(run, bindings(chunk_text, [e.sentence.text for e in run])):
                out[id(e)] = b
            start = end
    return out


def _named_differently(chosen: list[Candidate], query: Query) -> bool:
    """Another article naming the lead's thing differently ("... Council" / "... Organisation"). Not for a
    plural question: "the Audio Group" and "the Netdev Group" are the list asked for, not two spellings."""
    lead = chosen[0]
    return not query.plural and any(
        c.passage.doc_id != lead.passage.doc_id and name_variants(c.name, lead.name) for c in chosen[1:]
    )


def entry_answer(best: Candidate, query: Query) -> str | None:
    """The reference entry the answering sentence describes ("os.path.getsize()") answers what is not a
    typed value or a reason ("which function ...", "how do i ...", "is there a way to ..."), unless the
    sentence offers a code token of its own ("frozen=True") or the question already names the entry. A
    call the sentence refers to ("Given an error returned by json_get_error(), ...") is not its own
    answer: the entry it describes is."""
    if query.types or query.wh == "why":
        return None
    lead = (
        code_lead(best.text)
        or paragraph_lead(best.passage.text, best.text)
        or section_lead(best.passage.text, best.text, best.passage.metadata.get("section"))
    )
    own = best.spans[0] if best.spans else None
    if own is not None and own.label == "CODE" and "\n" not in own.text and not _refers_to_call(best.text, own, lead):
        return None
    return lead if lead and not in_question(lead, query) else None


def _refers_to_call(text: str, span: Span, lead: str | None) -> bool:
    """The code token is another function the sentence mentions ("... returned by json_get_error()"),
    while the sentence belongs to a callable entry."""
    return bool(lead and lead.endswith("()")) and text[span.end : span.end + 2] == "()"


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
