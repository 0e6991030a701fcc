"""rag.evidence on hand-made sentences: best-sentence cosine and typed-candidate sentences per chunk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.evidence import Asked, best_sentence, holds_candidate, sentence_cosines, typed_sentence
from rag.nlp import stored_entities
from rag.question import analyse
from rag.store_records import StoredSentence
from rag.text import content_terms


def _sentence(chunk_id: str, text: str, vector: list[float], ents: list[tuple[str, str]] | None = None):
    meta = {}
    if ents is not None:
        spans = [[text.index(words), text.index(words) + len(words), label] for words, label in ents]
        meta = {"ents": json.dumps(spans), "chunks": "[]"}
    return StoredSentence(chunk_id, 0, text, np.asarray(vector, dtype=np.float32), meta)


QUERY = np.asarray([1.0, 0.0, 0.0], dtype=np.float32)


def test_cosines_are_normalised_by_the_stored_vectors_length():
    sentences = [_sentence("a", "x", [2.0, 0.0, 0.0]), _sentence("a", "y", [0.0, 3.0, 0.0])]
    assert sentence_cosines(sentences, QUERY) == pytest.approx([1.0, 0.0])
    assert sentence_cosines([], QUERY).shape == (0,)


def test_a_chunk_scores_its_best_sentence():
    sentences = [
        _sentence("a", "far", [0.0, 1.0, 0.0]),
        _sentence("a", "close", [0.9, 0.1, 0.0]),
        _sentence("b", "middling", [0.5, 0.5, 0.0]),
    ]
    scores = best_sentence(sentences, sentence_cosines(sentences, QUERY))
    assert scores["a"] > scores["b"] > 0
    assert set(scores) == {"a", "b"}


def test_only_a_sentence_naming_a_new_entity_of_the_asked_type_counts():
    question_terms = frozenset(content_terms("Who founded the bakery in Lyon?"))
    answer = _sentence("a", "The bakery was founded by Marie Dubois.", [0.6, 0.4, 0.0], [("Marie Dubois", "PERSON")])
    repeat = _sentence("b", "The bakery in Lyon was founded long ago.", [0.95, 0.05, 0.0], [("Lyon", "GPE")])
    echo = _sentence("c", "Lyon bakery founded by Lyon.", [0.9, 0.1, 0.0], [("Lyon", "PERSON")])
    off_topic = _sentence("d", "Paul Martin sings.", [0.9, 0.1, 0.0], [("Paul Martin", "PERSON")])
    unparsed = _sentence("e", "The bakery was founded by Anne.", [0.9, 0.1, 0.0])
    sentences = [answer, repeat, echo, off_topic, unparsed]
    scores = typed_sentence(sentences, sentence_cosines(sentences, QUERY), {"PERSON", "ORG"}, question_terms)
    assert list(scores) == ["a"]
    assert holds_candidate(answer, frozenset({"PERSON"}), question_terms)
    assert not holds_candidate(answer, frozenset({"DATE"}), question_terms)


def test_an_untyped_question_gives_no_typed_evidence():
    sentence = _sentence("a", "The bakery was founded by Marie Dubois.", [1.0, 0.0, 0.0], [("Marie Dubois", "PERSON")])
    assert typed_sentence([sentence], [1.0], frozenset(), {"bakeri"}) == {}


def test_a_sentence_must_share_enough_question_terms():
    terms = frozenset(content_terms("Who founded the bakery in Lyon?"))
    answer = _sentence("a", "The bakery was founded by Marie Dubois.", [1.0, 0.0, 0.0], [("Marie Dubois", "PERSON")])
    assert holds_candidate(answer, frozenset({"PERSON"}), terms, min_shared=2)  # bakery, founded
    assert not holds_candidate(answer, frozenset({"PERSON"}), terms, min_shared=3)


def test_stored_entities_keeps_the_asked_labels_and_survives_bad_metadata():
    text = "Marie Dubois opened it in 1998."
    meta = {"ents": json.dumps([[0, 12, "PERSON"], [26, 30, "DATE"]])}
    assert [(e.text, e.label) for e in stored_entities(text, meta, frozenset({"DATE"}))] == [("1998", "DATE")]
    assert stored_entities(text, {"ents": "not json"}, frozenset({"DATE"})) == []
    assert stored_entities(text, {}, frozenset({"DATE"})) == []


def test_asked_takes_the_types_of_every_part_of_the_question():
    query = analyse("Who claimed the attack, and how many people died?")
    asked = Asked.of(query)
    assert {"PERSON", "CARDINAL"} <= asked.types
    assert "attack" in asked.terms
    assert Asked.of(analyse("Tell me about the bakery")).types == frozenset()
