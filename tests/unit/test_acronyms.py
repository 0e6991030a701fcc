"""A name the question asks about by its acronym names its subject: a candidate, but not a short answer."""

from __future__ import annotations

import pytest

from rag.question import analyse
from rag.spans import acronym_of_question, in_question


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("which program is the fgr part of", "Fictional Grain Route"),  # the run's initials spell "fgr"
        ("where did the xlu post its statement", "The Xavier Liberation Union"),  # a leading "The" is no initial
        ("who runs the mss", "Ministry of State Security"),  # joining "of" is skipped
        ("who funds the cpe", "Coastal-Port Expressway"),  # hyphenated words give one initial each
    ],
)
def test_an_expanded_acronym_of_the_question_names_its_subject(question: str, span: str) -> None:
    assert acronym_of_question(span, analyse(question))
    assert not in_question(span, analyse(question))  # still a candidate: its sentence is about the subject


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("who runs the mss", "Ministry of Public Works"),  # other initials: a new name
        ("what does XLU stand for", "Xavier Liberation Union"),  # asked for the spelled-out name
        ("what is the full name of the fgr", "Fictional Grain Route"),
        ("who runs the mss", "Ministry of State Security and Mr Vale"),  # a word beyond the acronym is new
    ],
)
def test_other_names_and_asked_expansions_are_new(question: str, span: str) -> None:
    assert not acronym_of_question(span, analyse(question))


def test_plain_words_still_decide_without_acronyms() -> None:
    query = analyse("which company built the harbour?")
    assert in_question("the harbour", query) and not acronym_of_question("the harbour", query)
    assert not in_question("Harbour Works Ltd", query)
    assert not acronym_of_question("Harbour Works Ltd", query)
