"""Answer-shape checks on hand-made sentences: each question form refuses an on-topic sentence that
lacks what the form asks for, and keeps the sentence that holds it. Real spaCy parses throughout."""

from __future__ import annotations

import pytest

from rag import nlp
from rag.extractive import answer_spans
from rag.question import analyse
from rag.shapes import fits_sentence


def _spans(sentence: str, question: str) -> list[str]:
    return [s.text for s in answer_spans(sentence, analyse(question), nlp.annotations_of(sentence))]


def _fits(sentence: str, question: str, previous: str = "") -> bool:
    return fits_sentence(analyse(question), sentence, previous)


# -- the shape the question's form sets ------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("How old was the pilot?", "age"),
        ("What time did the train leave?", "clock"),
        ("How much did the bridge cost?", "amount"),
        ("How long did the strike last?", "duration"),
        ("How many workers were hired?", ""),
        ("When did the strike end?", ""),
    ],
)
def test_question_form_sets_the_shape(question: str, shape: str) -> None:
    assert analyse(question).shape == shape


def test_who_verb_questions_keep_their_verb_and_light_verbs_none() -> None:
    assert (analyse("Who drove the truck?").verb, analyse("Who drove the truck?").verb_form) == ("drive", "drove")
    assert analyse("Who did the police say carried out the robbery?").verb == "carry"
    assert analyse("Who is the finance minister?").verb == ""
    assert analyse("Who came up with the plan?").verb == ""  # too general a verb to check


def test_what_did_x_say_keeps_the_speaker() -> None:
    assert analyse("What did the mayor say about the flood?").speaker == ["mayor"]
    assert analyse("What did the mayor do about the flood?").speaker == []


# -- how old --------------------------------------------------------------------------------------
def test_how_old_needs_an_age_not_any_number() -> None:
    question = "How old was the pilot?"
    assert _spans("The pilot, who had flown for the airline since 2009, was aged 54.", question) == ["54"]
    assert _spans("The 38-year-old pilot landed the plane safely.", question) == ["38-year-old"]
    assert _spans("The pilot flew 300 passengers to Lisbon in 2009.", question) == []


# -- what time ------------------------------------------------------------------------------------
def test_what_time_needs_a_time_of_day_not_a_span_of_time() -> None:
    question = "What time did the train leave the station?"
    assert _spans("The train left the station at 6:45 am.", question) == ["6:45 am"]
    assert _spans("The train waited at the station for 90 seconds before it left.", question) == []
    assert _spans("The train left the station on Monday.", question) == []


# -- how much -------------------------------------------------------------------------------------
def test_how_much_needs_an_amount_with_its_unit() -> None:
    question = "How much did the new bridge cost?"
    assert _spans("The new bridge cost $40 million and opened in June.", question) == ["$40 million"]
    assert _spans("The new bridge is one of the longest in the region.", question) == []


# -- how long -------------------------------------------------------------------------------------
def test_how_long_needs_a_span_of_time_or_its_start() -> None:
    question = "How long did the strike at the port last?"
    assert _spans("The strike at the port lasted three weeks.", question) == ["three weeks"]
    assert _spans("The union has been on strike at the port since 2019.", question) == ["2019"]
    assert _spans("The strike at the port began in March.", question) == []


# -- who <verb> -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "fits"),
    [
        ("The truck was driven by a man from the north, police said.", True),
        ("A man from the north drove the truck, police said.", True),
        ("The driver, a man from the north, was arrested.", True),
        ("The truck belonged to Northwind Logistics, police said.", False),
    ],
)
def test_who_verb_needs_the_verb_in_any_form(sentence: str, fits: bool) -> None:
    assert _fits(sentence, "Who drove the truck?") is fits


# -- what did X say -------------------------------------------------------------------------------
def test_what_did_x_say_needs_speech_by_x() -> None:
    question = "What did the mayor say about the flood?"
    assert _fits("The mayor said the flood was the worst in a century.", question)
    assert _fits("“We will rebuild,” she told reporters.", question, previous="The mayor visited the flooded streets.")
    assert not _fits("The mayor met the governor after the flood.", question)  # no speech
    assert not _fits("The governor said the flood was the worst in a century.", question)  # someone else


# -- which <noun>, untyped ------------------------------------------------------------------------
def test_which_noun_needs_that_noun_in_the_sentence() -> None:
    question = "Which hospital were the injured taken to?"
    assert _fits("The injured were taken to St Mary's Hospital.", question)
    assert not _fits("The blast injured several people near the central airport.", question)
    # any form of the noun: "paper" in "newspaper"
    assert _fits("Nikkei Asia, a Tokyo newspaper, reported the request.", "Which paper reported the request?")
    # a described kind ("what grudge") and a kind word ("which kind of index") are not checked
    assert _fits("The rebels resent the projects.", "What grudge do the rebels hold?")
    assert _fits("A B-tree can be declared unique.", "Which kind of index can be declared unique?")


def test_which_function_is_answered_by_a_sentence_naming_a_call() -> None:
    question = "which close function suits garbage collected languages?"
    assert _fits("The widget_close_v2() interface is meant for garbage collected languages.", question)
    assert not _fits("The second interface is meant for garbage collected languages.", question)
    # only callables: "which option" still needs the option named as one
    assert not _fits("The widget_close_v2() interface is meant for them.", "which option suits them?")


def test_a_point_in_time_is_not_a_span_of_time() -> None:
    question = "How long did the siege of the port last?"
    assert _spans("The siege of the port lasted two weeks.", question) == ["two weeks"]
    assert _spans("Last month the siege of the port ended.", question) == []


def test_how_many_units_of_time_asks_for_a_span_of_time() -> None:
    query = analyse("How many seconds does the backup take?")
    assert query.shape == "duration" and query.types <= {"DATE", "TIME"}
    assert _spans("The backup of one table takes about 40 seconds.", "How many seconds does the backup take?") == [
        "about 40 seconds"
    ]
    assert _spans("The backup copies one table at a time.", "How many seconds does the backup take?") == []


def test_chat_spellings_are_parsed_as_written_out() -> None:
    query = analyse("whats the name of the spokesman who talked to the press")
    assert (query.wh, query.focus_noun, set(query.types)) == ("name of", "spokesman", {"PERSON"})


def test_a_yes_no_clause_after_and_is_a_part_of_its_own() -> None:
    query = analyse("Which company built the dam, and is it still open?")
    assert [p.text for p in query.parts] == ["Which company built the dam", "is it still open?"]
    assert analyse("Did the talks fail?").parts == []
    assert analyse("Is there a limit on how long a name can be?").parts == []
