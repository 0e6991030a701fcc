"""The score floor of untyped questions on hand-made candidates: a sentence offering the asked-for kind
(a command for "how do i ...") is evidence of its own and needs less score than one on the topic only."""

from __future__ import annotations

import pytest

from rag.answer_values import Candidate
from rag.embedding import MiniLMEmbedder
from rag.extractive import ABSTAIN_SCORE, EVIDENCED_SCORE
from rag.nlp import Span
from rag.passages import Passage
from rag.question import analyse
from tests.support.reader import hand_made_reader

SENTENCE = "Run apt purge to remove the package together with its configuration files."


@pytest.fixture(scope="module")
def reader():
    reader, _ = hand_made_reader(MiniLMEmbedder(), {"guide": [SENTENCE]})
    return reader


def _candidate(score: float, offers: bool) -> Candidate:
    passage = Passage(1, "guide-c0", "guide", "guide.txt", "guide", SENTENCE, 1.0)
    spans = [Span(4, 13, "CODE", "apt purge")] if offers else []
    return Candidate(passage, SENTENCE, 0, 0.4, 0.3, offers, score, spans=spans)


def test_an_untyped_answer_offering_the_asked_kind_needs_less_score(reader) -> None:
    query = analyse("how do i uninstall a package and its settings?")
    between = (EVIDENCED_SCORE + ABSTAIN_SCORE) / 2
    assert reader._answers(query, _candidate(between, offers=True))
    assert not reader._answers(query, _candidate(between, offers=False))  # on the topic only
    assert not reader._answers(query, _candidate(EVIDENCED_SCORE - 0.01, offers=True))


def test_a_typed_question_keeps_the_full_floor(reader) -> None:
    query = analyse("How many packages does apt purge remove?")
    assert query.types
    assert not reader._answers(query, _candidate((EVIDENCED_SCORE + ABSTAIN_SCORE) / 2, offers=True))
