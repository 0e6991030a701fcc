"""Of two candidates in one sentence, the one standing by the question's words is the short answer."""

from __future__ import annotations

from rag.answer_values import Candidate, short_answer
from rag.nlp import Span
from rag.passages import Passage
from rag.question import analyse
from rag.spans import closeness


def span(text: str, name: str, label: str = "PERSON") -> Span:
    start = text.index(name)
    return Span(text=name, start=start, end=start + len(name), label=label)


def test_the_name_next_to_the_asked_role_is_closer() -> None:
    text = "Governor Ada Vale met the harbour master Tom Reed at the quay on Monday."
    query = analyse("who is the harbour master?")
    assert closeness(text, span(text, "Tom Reed"), query) > closeness(text, span(text, "Ada Vale"), query)


def test_the_count_next_to_the_counted_thing_is_closer() -> None:
    text = "The storm flooded 40 homes and cut power to nine schools in the valley."
    query = analyse("how many schools lost power?")
    assert closeness(text, span(text, "nine", "CARDINAL"), query) > closeness(text, span(text, "40", "CARDINAL"), query)


def test_rare_words_place_a_span_more_than_common_ones() -> None:
    text = "Dr Lin of the clinic said the valley clinic hired Dr Moss as its new radiologist."
    query = analyse("which doctor is the clinic's radiologist?")
    rarity = {"radiologist": 5.0}.get
    weighted = [closeness(text, span(text, n), query, lambda t: rarity(t, 1.0)) for n in ("Dr Moss", "Dr Lin")]
    assert weighted[0] > weighted[1]


def test_no_question_words_around_is_zero() -> None:
    text = "Nothing here names it."
    assert closeness(text, span(text, "Nothing", "ORG"), analyse("who is the harbour master?")) == 0.0


def test_a_value_no_question_word_stands_near_is_not_the_short_answer() -> None:
    text = "Reed joined in 2001. The fund later paid 40 dollars to the harbour master Tom Reed."
    passage = Passage(n=1, chunk_id="a#0", doc_id="a", source="a.txt", title="A", text=text, score=1.0)
    far, near = span(text, "2001", "DATE"), span(text, "Tom Reed")
    query = analyse("who is the harbour master?")
    shown = Candidate(passage, text, 0, 1.0, 0.5, True, 1.0, spans=[far, near])
    faint = Candidate(passage, text, 0, 1.0, 0.5, True, 1.0, spans=[far, near], faint=frozenset({id(far)}))
    assert short_answer([shown], query, disagree=False) == "2001"
    assert short_answer([faint], query, disagree=False) == "Tom Reed"
