"""The focus-noun answer type (rag.focus) on hand-made questions and sentences: what names an instance of
the asked noun, and the reader abstaining when no retrieved sentence names one."""

from __future__ import annotations

import pytest

from rag import nlp
from rag.embedding import MiniLMEmbedder
from rag.focus import FocusNouns, concept
from rag.question import analyse
from tests.support.reader import hand_made_reader

HOSPITAL = "which hospital were the injured taken to?"


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


def _instances(finder: FocusNouns, question: str, text: str) -> list[str]:
    query = analyse(question)
    annotation = nlp.annotations_of(text)
    finder.prepare(concept(query), [(text, annotation)])
    return [s.text for s in finder.instances(text, annotation, query)]


def test_the_concept_is_the_noun_an_untyped_which_question_asks_for() -> None:
    assert concept(analyse(HOSPITAL)) == "hospital"
    assert concept(analyse("which tcp port does the cache daemon listen on?")) == "port"  # "tcp" read as a name
    assert concept(analyse("which kind of index can be declared unique")) == "index"  # past the kind word
    assert concept(analyse("which company built the plant?")) == ""  # typed: ORG candidates answer it
    assert concept(analyse("which way is the right one")) == ""  # names no kind of thing
    assert concept(analyse("which option turns off the pager")) == ""  # code has its own evidence
    assert concept(analyse("what grudge do the rebels hold")) == ""  # "what X" may be described, not named


def test_a_phrase_with_the_noun_and_a_name_is_an_instance(embedder) -> None:
    finder = FocusNouns(embedder)
    assert _instances(finder, HOSPITAL, "The injured were taken to the Civil Hospital, officials said.") == [
        "Civil Hospital"
    ]
    assert _instances(finder, "which kind of index can be declared unique", "Only B-tree indexes can be unique.") == [
        "B-tree indexes"
    ]


def test_a_figure_after_the_noun_is_an_instance(embedder) -> None:
    finder = FocusNouns(embedder)
    found = _instances(finder, "which tcp port does the daemon listen on?", "By default it listens on port 8080.")
    assert found and "8080" in found[0]


def test_the_noun_without_a_name_or_a_name_the_question_gives_is_none(embedder) -> None:
    finder = FocusNouns(embedder)
    assert _instances(finder, HOSPITAL, "The injured were rushed to a hospital nearby.") == []
    assert _instances(finder, HOSPITAL, "Hospital staff said the injured were stable.") == []  # a capital opening it
    assert _instances(finder, "which london hospital treated them?", "They were treated at a London hospital.") == []


def test_a_head_noun_close_to_the_focus_noun_is_an_instance(embedder) -> None:
    finder = FocusNouns(embedder)
    assert _instances(finder, HOSPITAL, "The injured were taken to the Aga Khan clinic.") == ["Aga Khan clinic"]
    assert _instances(finder, HOSPITAL, "The injured were flown out by the Red Crescent group.") == []


def test_the_reader_abstains_when_no_sentence_names_an_instance(embedder) -> None:
    on_topic = [
        "A car bomb exploded near the airport on Sunday evening.",
        "The injured were taken to hospital after the attack, police said.",
    ]
    reader, passages = hand_made_reader(embedder, {"news": on_topic})
    assert reader.generate(HOSPITAL, passages, []).abstained
    named = on_topic + ["Most of the injured were treated at the Civil Hospital, a doctor said."]
    reader, passages = hand_made_reader(embedder, {"news": named})
    draft = reader.generate(HOSPITAL, passages, [])
    assert not draft.abstained
    assert draft.short_answer == "Civil Hospital"


def test_a_name_after_the_noun_and_joining_words_is_an_instance(embedder) -> None:
    finder = FocusNouns(embedder)
    question = "which force protects the plant?"
    assert _instances(finder, question, "It is guarded by a force called the Special Protection Unit.") == [
        "Special Protection Unit"
    ]
    assert _instances(finder, "which package runs a dhcp server", "The matching package is isc-dhcp-server.") == [
        "isc-dhcp-server"
    ]
    assert _instances(finder, question, "The plant has its own force, Reuters reported.") == []  # a clause break


def test_a_name_in_apposition_to_the_noun_is_the_instance(embedder) -> None:
    finder = FocusNouns(embedder)
    question = "which paper reported the deal first?"
    found = _instances(finder, question, "The deal was first reported by Nikkei Asia, a Tokyo-based newspaper.")
    assert found[0] == "Nikkei Asia"
    found = _instances(finder, "which contractor repaired the bridge?", "Northwind Builders, a contractor, did it.")
    assert found == ["Northwind Builders"]


def test_a_reference_entry_leading_a_sentence_of_the_noun_is_an_instance(embedder) -> None:
    finder = FocusNouns(embedder)
    question = "which decorator remembers earlier results?"
    found = _instances(
        finder, question, "functools.lru_cache(): Decorator to wrap a function with a memoizing callable."
    )
    assert found == ["functools.lru_cache()"]
    assert _instances(finder, question, "functools.wraps(): Returns a wrapper of the function.") == []
