"""Sentences that announce their answer, bound to the block or list entries right after them (rag.announced),
and the reader answering with both. Hand-made sentences; real MiniLM and the real extractive generator."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.announced import Binding, announces, bindings, entry_term
from rag.embedding import MiniLMEmbedder
from tests.support.reader import hand_made_reader


@pytest.mark.parametrize(
    ("sentence", "announcing"),
    [
        ("The widget accepts the following options:", True),
        ("The following macros check for round widgets.", True),
        ("The steps are as follows.", True),
        ("Following the upgrade, the widget restarts.", False),
        ("The widget restarts after the upgrade.", False),
    ],
)
def test_sentences_that_announce_what_follows(sentence: str, announcing: bool) -> None:
    assert announces(sentence) is announcing


HELPERS = [
    "Widgets keep their settings in boxes.",
    "The widget ships the following helpers:",
    "fold: Folds the box in half.",
    "It keeps the lid.",
    "spin: Spins the box until it is dry.",
    "You may also write helpers of your own.",
]
HELPERS_TEXT = "\n\n".join([HELPERS[0], HELPERS[1], f"{HELPERS[2]} {HELPERS[3]}", *HELPERS[4:]])


def test_a_list_is_bound_to_the_sentence_announcing_it() -> None:
    bound = bindings(HELPERS_TEXT, HELPERS)
    assert bound[1].items == ("fold: Folds the box in half.", "spin: Spins the box until it is dry.")
    # every sentence of an entry is bound to the announcer; the paragraph of another shape ends the list
    assert [b.announcer for b in bound[2:5]] == [HELPERS[1]] * 3
    assert bound[0] == bound[5] == Binding()
    assert entry_term(HELPERS[2]) == "fold" and entry_term(HELPERS[5]) is None


def test_entries_continuing_the_sentence_in_lower_case_are_a_list() -> None:
    sentences = ["The box is one of the following:", "the red box;", "the blue box.", "Boxes are made of card."]
    assert bindings("\n\n".join(sentences), sentences)[0].items == ("the red box;", "the blue box.")


def test_nothing_is_announced_across_a_heading_or_a_code_block() -> None:
    sentences = ["The widget accepts the following options:", "Spinning is slow."]
    heading = f"{sentences[0]}\n\n2.1 Spinning\n\n{sentences[1]}"
    assert bindings(heading, sentences) == [Binding(), Binding()]
    code = f"{sentences[0]}\n\n```\n$ widget --help\n```\n\n{sentences[1]}"
    assert bindings(code, sentences) == [Binding(), Binding()]  # the block is what it announces


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_which_helpers_are_answered_by_the_announced_entries(embedder) -> None:
    reader, (passage,) = hand_made_reader(embedder, {"widgets": HELPERS})
    passage = replace(passage, text=HELPERS_TEXT)
    draft = reader.generate("which helpers does the widget ship with?", [passage], [])
    assert not draft.abstained
    assert draft.text.startswith("The widget ships the following helpers:")
    assert "fold: Folds the box in half." in draft.text and "spin: Spins the box until it is dry." in draft.text
    assert {"fold: Folds the box in half.", "spin: Spins the box until it is dry."} <= set(draft.quotes[1])
    assert draft.short_answer is not None and "fold" in draft.short_answer


OPTIONS = ["Widgets fold boxes.", "The widget accepts the following options:", "--half: Folds the box in half."]
OPTIONS += ["--dry: Spins the box until it is dry.", "Options may be combined."]


def test_an_entry_is_quoted_with_the_sentence_announcing_it(embedder) -> None:
    reader, (passage,) = hand_made_reader(embedder, {"widgets": OPTIONS})
    passage = replace(passage, text="\n\n".join(OPTIONS))
    draft = reader.generate("which option makes the widget spin a wet box until it is dry?", [passage], [])
    assert not draft.abstained
    assert draft.short_answer == "--dry"
    assert draft.text.index("The widget accepts the following options:") < draft.text.index("--dry: Spins the box")
    assert "The widget accepts the following options:" in draft.quotes[1]


SETTINGS = ["Widgets read their settings from a file.", "The settings file will be one of the following (in order):"]
SETTINGS += ["the file given with the --config option;", "the contents of the $WIDGET_RC variable; or"]
SETTINGS += ["the default file in /etc/widget/rc.", "Settings files are plain text."]


def test_entries_continuing_the_sentence_answer_through_it_all_quoted(embedder) -> None:
    reader, (passage,) = hand_made_reader(embedder, {"widgets": SETTINGS})
    passage = replace(passage, text="\n\n".join(SETTINGS))
    draft = reader.generate("where does the widget take its settings file from?", [passage], [])
    assert draft.text.startswith("The settings file will be one of the following (in order):")
    assert all(entry in draft.text for entry in SETTINGS[2:5]) and SETTINGS[5] not in draft.text
    assert draft.short_answer == "/etc/widget/rc"


MACROS = ["Widgets can be checked.", "Most checks use the following macro to provide a default set of rules:"]
MACROS_TEXT = f"{' '.join(MACROS)}\n\n```\nMacro: WG_RULES_DEFAULT([rules])\n```\n\nIt expands to the rules."


def test_an_announced_block_names_the_noun_its_sentence_announces(embedder) -> None:
    reader, (passage,) = hand_made_reader(embedder, {"macros": [*MACROS, "It expands to the rules."]})
    passage = replace(passage, text=MACROS_TEXT)
    draft = reader.generate("what macro gives the default set of rules that most checks use", [passage], [])
    assert draft.short_answer == "WG_RULES_DEFAULT"
    assert "Macro: WG_RULES_DEFAULT([rules])" in draft.quotes[1]
    # a typed question is not answered by a code token of the block
    assert reader.generate("which year did the default set of rules appear", [passage], []).abstained
