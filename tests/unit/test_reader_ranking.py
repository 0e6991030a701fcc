"""Signals that put the answering sentence first, each on hand-made sentences (real spaCy and MiniLM)."""

from __future__ import annotations

import pytest

from rag import nlp
from rag.embedding import MiniLMEmbedder
from rag.question import analyse
from rag.spans import offers_new_name
from tests.support.reader import hand_made_reader

MEDIA_WING = "What is the name of the army's media wing?"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _offers(question: str, sentence: str) -> bool:
    return offers_new_name(sentence, analyse(question), nlp.annotate_many([sentence])[0])


def test_a_sentence_naming_an_organisation_offers_a_name() -> None:
    assert _offers(
        MEDIA_WING, "Inter-Services Public Relations, the information wing of the army, declined to comment."
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "The Chinese embassy in Paris declined to comment.",  # a nationality and a place only describe
        "The media wing of the army declined to comment.",  # no name at all
    ],
)
def test_descriptors_and_common_nouns_are_not_names(sentence: str) -> None:
    assert not _offers(MEDIA_WING, sentence)


def test_a_name_the_question_already_holds_is_not_offered() -> None:
    assert not _offers("Which statement did Northwind Builders publish?", "Northwind Builders published a statement.")


@pytest.mark.parametrize("order", [("common", "named"), ("named", "common")])
def test_the_sentence_naming_the_asked_kind_of_thing_is_quoted(embedder, order) -> None:
    docs = {
        "common": ["A contractor from the valley repaired the bridge last spring."],
        "named": ["Northwind Builders, a contractor from the valley, repaired the bridge last spring."],
    }
    reader, passages = hand_made_reader(embedder, {name: docs[name] for name in order})
    draft = reader.generate("which contractor repaired the bridge?", passages, [])
    assert draft.text.startswith("Northwind Builders")


def test_an_untyped_question_prefers_the_sentence_that_names_who_acted(embedder) -> None:
    # the first passage ranks higher in retrieval; the second names the actor, which answers "why"
    reader, passages = hand_made_reader(
        embedder,
        {
            "first": ["The talks about the new bridge failed after a dispute over the money last spring."],
            "second": ["The talks about the new bridge failed after Northwind Builders pulled out last spring."],
        },
    )
    draft = reader.generate("why did the talks about the bridge fail?", passages, [])
    assert "Northwind Builders" in draft.text.split("[")[0]
