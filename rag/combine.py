"""Which sentences answer together: the best one, plus other documents' sentences that add to or differ from it."""

from __future__ import annotations

from collections.abc import Callable

from rag.answer_values import Candidate, amounts, disagrees, name_variants, norm, same_text, same_value
from rag.question import NUMERIC, TEMPORAL, Query, Wants
from rag.spans import nearness, specific_value
from rag.text import content_terms

VALUE_DISAGREE_RATIO = 0.8  # another name for the asked-for thing, or another figure of it, is shown down to this share
JOIN_RATIO = 0.75  # other sentences within this share of the best score may join the answer
MIN_GAIN = 0.15  # share of the question's weight a joining sentence must newly cover
LIST_JOIN_RATIO = 0.85  # for "which forces ...": another sentence naming something new joins above this share
DISAGREE_RATIO = 0.5  # another article's different amount is shown down to this share of the best score
MAX_SENTENCES = 3
COMPARE_RATIO = 0.6  # "numbers seem to differ": another article's best sentence is shown down to this share
TIE_RATIO = 0.9  # a runner-up this close to the best cannot be told apart from it by the score: both are quoted
MEASURES = NUMERIC | TEMPORAL  # labels of values: two values of different labels measure different things
MAX_SOURCES = 5  # "what did each say": at most this many documents' best sentences, one each
SOURCE_RATIO = 0.9  # another document's best sentence holding the asked-for kind joins down to this share


def combine(query: Query, candidates: list[Candidate], idf: Callable[[str], float]) -> list[Candidate]:
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
    variant = _name_variant(query, candidates)
    if variant is not None:
        chosen.append(variant)
    runner_up = _near_tie(candidates, chosen)
    if runner_up is not None:
        chosen.append(runner_up)
        covered |= set(content_terms(runner_up.text))
    if query.compare:
        for other in _other_documents(candidates, chosen):
            chosen.append(other)
            covered |= set(content_terms(other.text))
    elif query.types and best.holds_wanted:
        for other in _other_sources(candidates, chosen):
            chosen.append(other)
            covered |= set(content_terms(other.text))
    for other in candidates[1:]:
        if len(chosen) >= MAX_SENTENCES:
            break
        if other is variant or other is runner_up or other in chosen:
            continue
        if other.score < best.score * JOIN_RATIO:
            # further down, only another article's different value of the asked kind may join:
            # "$65bn" in one, "$60bn" in another is a disagreement the reader must see
            if valued and other.score >= best.score * DISAGREE_RATIO and disagrees(other, chosen, query):
                chosen.append(other)
            continue
        if valued and _another_value(other, chosen, query):
            chosen.append(other)  # one page giving "about 5 years" and "three years": both figures are shown
            continue
        if not many and any(other.passage.doc_id == c.passage.doc_id for c in chosen):
            continue
        if any(same_text(other.text, c.text) for c in chosen):
            continue
        terms = set(content_terms(other.text))
        adds_words = sum(idf(t) for t in (set(query.terms) & terms) - covered) >= MIN_GAIN * sum(
            idf(t) for t in query.terms
        )
        gives_figure = valued and other.holds_wanted and specific_value(other.spans[0])
        if gives_figure and query.wants is Wants.number and amounts(best.text):
            gives_figure = bool(amounts(best.text).keys() & amounts(other.text).keys())  # same kind of amount
        named = {norm(s.text) for c in chosen for s in c.spans}
        new_names = (
            many and other.score >= best.score * LIST_JOIN_RATIO and bool({norm(s.text) for s in other.spans} - named)
        )
        if adds_words or gives_figure or new_names:
            chosen.append(other)
            covered |= terms
    return chosen


def _name_variant(query: Query, candidates: list[Candidate]) -> Candidate | None:
    """For "what summit ...": another article naming it differently ("... Council" / "... Organisation")."""
    best = candidates[0]
    if query.types or query.plural or not query.focus_noun or not best.value:
        return None
    for other in candidates[1:]:
        if other.score < best.score * VALUE_DISAGREE_RATIO:
            break
        if other.passage.doc_id != best.passage.doc_id and name_variants(other.name, best.name):
            return other
    return None


def _other_documents(candidates: list[Candidate], chosen: list[Candidate]) -> list[Candidate]:
    """For a question asking for every side: the best sentence of each further document, best first,
    holding the asked-for kind when the lead does, while it scores near enough to be on the question."""
    best = candidates[0]
    seen = {c.passage.doc_id for c in chosen}
    out: list[Candidate] = []
    for other in candidates[1:]:
        if len(chosen) + len(out) >= MAX_SOURCES or other.score < best.score * COMPARE_RATIO:
            break
        if other.passage.doc_id in seen or other.holds_wanted < best.holds_wanted or not _same_kind(other, best):
            continue
        seen.add(other.passage.doc_id)
        if not any(same_text(other.text, c.text) for c in chosen + out):
            out.append(other)
    return out


def _other_sources(candidates: list[Candidate], chosen: list[Candidate]) -> list[Candidate]:
    """For a typed question ("where did it happen", "how many ..."): the best sentence of each further
    document that also holds the asked-for kind and scores nearly as well as the best one. Two articles
    placing or counting the same thing are both shown, each with its source, whether or not they agree."""
    best = candidates[0]
    seen = {c.passage.doc_id for c in chosen}
    out: list[Candidate] = []
    for other in candidates[1:]:
        if len(chosen) + len(out) >= MAX_SENTENCES or other.score < best.score * SOURCE_RATIO:
            break
        if other.passage.doc_id in seen:
            continue
        seen.add(other.passage.doc_id)  # only a document's best sentence speaks for it
        if (
            other.holds_wanted
            and _same_kind(other, best)
            and not any(same_text(other.text, c.text) for c in chosen + out)
        ):
            out.append(other)
    return out


def _another_value(other: Candidate, chosen: list[Candidate], query: Query) -> bool:
    """A sentence, of any document, giving a specific value of the asked kind that no chosen sentence
    gives, close enough in score to the best to be about the same thing. Not when another document
    already agrees with the best one's value (the figure is settled; a third one in the same pages is of
    another event), nor when none of the question's words stands near the value (it measures something else)."""
    best = chosen[0]
    if not (other.holds_wanted and best.value) or other.score < best.score * VALUE_DISAGREE_RATIO:
        return False
    if not (specific_value(other.spans[0]) and specific_value(best.spans[0]) and _same_kind(other, best)):
        return False
    if any(c.passage.doc_id != best.passage.doc_id and c.value and same_value(c, best) for c in chosen[1:]):
        return False
    if not nearness(other.text, other.spans[0], query):
        return False
    return not any(same_value(other, c) or same_text(other.text, c.text) for c in chosen if c.value)


def _same_kind(other: Candidate, best: Candidate) -> bool:
    """Whether two sentences' values answer alike: a count is not shown beside a sum of money."""
    if not (other.kind and best.kind) or other.kind == best.kind:
        return True
    return not ({other.kind, best.kind} & MEASURES)


def _near_tie(candidates: list[Candidate], chosen: list[Candidate]) -> Candidate | None:
    """The second-best sentence when it scores almost as well as the best one, from any document.

    The score ranks sentences about the question's topic closely together; when the best two are within
    a few per cent, the facts asked for are as often in the second as in the first (or spread over both),
    so both are quoted rather than betting on one.
    """
    best = candidates[0]
    for other in candidates[1:]:
        if other.score < best.score * TIE_RATIO:
            return None
        if (
            other.holds_wanted >= best.holds_wanted
            and _same_kind(other, best)
            and not any(same_text(other.text, c.text) for c in chosen)
        ):
            return other
    return None
