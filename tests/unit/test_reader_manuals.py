"""The reader on documentation pages: commands, options and settings as answers, sentences that announce
what follows, paths as places. Real spaCy, real MiniLM, the real extractive generator; the sentences are
hand-made (no corpus's words)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag import nlp
from rag.announced import announced_block
from rag.code_tokens import code_tokens, is_path, new_to
from rag.embedding import MiniLMEmbedder
from rag.extractive import answer_spans
from rag.nlp import Annotation, Span
from rag.question import analyse
from rag.spans import is_value, points_elsewhere
from tests.support.reader import hand_made_reader


@pytest.mark.parametrize(
    ("sentence", "tokens"),
    [
        ("Archives must be unpacked with the zip_unpack utility.", ["zip_unpack"]),
        ("Set frob.mode to strict in the config.", ["frob.mode"]),
        ("Use -q or --no-colour to quieten it.", ["-q", "--no-colour"]),
        ("It writes to ~/.widgetrc unless $WIDGET_HOME/conf exists.", ["~/.widgetrc", "$WIDGET_HOME/conf"]),
        ("The MERGE ROWS clause joins them, and the SKIP keyword skips one.", ["MERGE ROWS", "SKIP"]),
        ("$ widget purge old", ["widget purge old"]),
        ("It uses a method called the zigzag method by default.", ["the zigzag method"]),
        ("Finds the first executable named program in the path.", ["program"]),  # not "program in"
        ("Use @{-1} for the previous one.", ["@{-1}"]),
        ('Programs call "/usr/bin/widget" or read /etc/widget.conf first.', ["/usr/bin/widget", "/etc/widget.conf"]),
    ],
)
def test_code_shaped_tokens(sentence: str, tokens: list[str]) -> None:
    assert [t.text for t in code_tokens(sentence)] == tokens


@pytest.mark.parametrize(
    "sentence",
    [
        "The SQL shell, e.g. the one in version 15.4, is a three-way tool.",
        "Non-text files are fine, i.e. nothing changes.",
        "The US and the UK said so on Monday.",
    ],
)
def test_prose_has_no_code_tokens(sentence: str) -> None:
    assert code_tokens(sentence) == []


def test_a_token_the_question_holds_is_not_new() -> None:
    tokens = code_tokens("Dumps made by zip_pack -Z are read by zip_unpack.")
    assert [t.text for t in tokens if new_to("what reads a dump made with zip_pack -Z?", t)] == ["zip_unpack"]


def test_paths_are_places() -> None:
    assert is_path("~/.widgetrc") and is_path("info/exclude") and is_path("$HOME/x")
    assert not is_path("frob.mode") and not is_path("https://example.com/x")


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("how do i wipe the cache?", True),
        ("which option turns off colours", True),
        ("what do i use to unpack an archive?", True),
        ("what setting fixes the line endings", True),
        ("how many workers died?", False),
        ("which company built the dam?", False),
        ("what did the minister say?", False),
        ("which merge strategy does it use by default", True),  # "merge" is tagged a verb: the noun after it
        ("what caused damage to the dam?", False),
    ],
)
def test_questions_that_a_command_or_option_answers(question: str, asks: bool) -> None:
    assert analyse(question).asks_code is asks


def _spans(sentence: str, question: str) -> list[str]:
    return [s.text for s in answer_spans(sentence, analyse(question), nlp.annotations_of(sentence))]


def test_a_command_answers_a_how_do_i_question() -> None:
    assert _spans("Archives should be unpacked using the zip_unpack utility.", "how do i unpack an archive?") == [
        "zip_unpack"
    ]
    assert _spans("Archives are unpacked by a small program.", "how do i unpack an archive?") == []


def test_an_option_of_a_quoted_command_answers_as_the_command() -> None:
    sentence = 'The "widget -Q name_pattern" can be used to find the archives holding a matching name.'
    assert _spans(sentence, "how can i find which archive a name belongs to?")[0] == "widget -Q name_pattern"
    sentence = 'At a shell prompt, enter: "widget new.box".'
    assert _spans(sentence, "how do i open a new archive from the shell?") == ["widget new.box"]


def test_an_amount_is_not_a_command() -> None:
    sentence = "To cap the speed of the widget to e.g. 800Kib/sec, set its limit as follows."
    assert _spans(sentence, "how do i stop the widget from updating an archive?") == []


def test_a_sentence_opening_capital_is_not_a_value() -> None:
    def values(sentence: str, question: str) -> list[str]:
        spans = answer_spans(sentence, analyse(question), nlp.annotations_of(sentence))
        return [s.text for s in spans if is_value(s)]

    assert _spans("The usual way is to undo the frob.", "whats the right way to undo a frob") == ["The usual way"]
    assert values("The usual way is to undo the frob.", "whats the right way to undo a frob") == []
    assert values("This special code means the archive exists.", "what code does it exit with") == []
    assert values("Notable command options for the widget", "whats the command to list archives") == []
    assert values("More than 1,500 archives were lost in the fire.", "how many archives were lost") == [
        "More than 1,500"
    ]
    assert values("The Widget archives are kept for a year.", "which archives are kept") == ["The Widget archives"]


def test_a_path_answers_where_a_file_is_written() -> None:
    assert "~/.widgetrc" in _spans(
        "If none exists, ~/.widgetrc is created.", "where does the widget store write its passwords?"
    )


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


_reader = hand_made_reader


MANUAL = {
    "archives": [
        "Archives keep your old project files in one place.",
        "If you do not need an archive anymore you can delete it.",
        "For example, if you own the archive old, you can delete it with the following command:",
        "$ widget purge old",
        "Archives made with widget pack -Z should be unpacked with the zip_unpack utility.",
    ],
}


def test_a_sentence_announcing_a_command_is_quoted_with_it(embedder) -> None:
    reader, passages = _reader(embedder, MANUAL)
    draft = reader.generate("how do i get rid of an archive i dont need anymore", passages, [])
    assert not draft.abstained
    assert "widget purge old" in draft.text
    assert "$ widget purge old" in draft.quotes[1]  # the command is quoted verbatim, as its own sentence
    assert draft.short_answer == "widget purge old"


def test_the_sentence_naming_the_command_leads(embedder) -> None:
    reader, passages = _reader(embedder, MANUAL)
    draft = reader.generate("what do i use to unpack an archive made with widget pack -Z?", passages, [])
    assert draft.short_answer == "zip_unpack"
    assert draft.text.startswith("Archives made with widget pack -Z should be unpacked with the zip_unpack utility.")
    assert "differ" not in draft.text  # two commands are two things, not two spellings of one name


# -- "how long" beyond spans of time ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("--wait <seconds>: Number of seconds to keep the lock (default: 300).", "how long is the lock kept", ["300"]),
        ("Widget names are limited to 31 bytes in length.", "how long can a widget name be?", ["31"]),
        ("They waited 40 minutes.", "how long did they wait", ["40 minutes"]),
        # a count after a point in time is not a span of time, nor is a count of things in a prose sentence
        ("Last month, two engineers lost their lives.", "How long had the engineers been away?", []),
        ("Three towns share the reservoir.", "how long is the reservoir?", []),
    ],
)
def test_how_long_takes_a_number_with_its_unit(sentence: str, question: str, expected: list[str]) -> None:
    assert _spans(sentence, question) == expected


def test_a_number_the_recogniser_missed_is_still_a_count() -> None:
    sentence = "--timeout <seconds>: Number of seconds to cache credentials (default: 900)."
    assert not [e for e in nlp.annotations_of(sentence).ents if e.text == "900"]  # spaCy's small model misses it
    assert _spans(sentence, "how long are credentials cached") == ["900"]
    assert _spans("Version v1.0.4 and build 2.7.1-rc are old.", "how long is a build kept?") == []


def test_an_announcing_sentence_with_a_name_of_its_own_still_brings_the_command(embedder) -> None:
    docs = {
        "widgets": [
            "Widgets hold settings for one project.",
            "To make a new widget, in this example named foo, you use the following command:",
            "$ widget make foo",
        ]
    }
    reader, passages = _reader(embedder, docs)
    draft = reader.generate("what command makes a new widget?", passages, [])
    assert draft.short_answer == "widget make foo"
    assert "$ widget make foo" in draft.quotes[1]
    assert ":." not in draft.text  # a sentence ending in a colon is not given a full stop


# -- yes/no questions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("can I make a round widget?", True),
        ("is the blue method still ok to use?", True),
        ("does the store encrypt anything", True),
        ("which widget is round?", False),
        ("shortcut to go back?", False),
        ("does the widget break when the box is empty", True),  # "when" opens the condition, not the ask
        ("is the folder deleted when the program exits?", True),
        ("can you tell me when the widget was released", False),
    ],
)
def test_yes_no_questions_are_recognised(question: str, yes_no: bool) -> None:
    assert analyse(question).yes_no is yes_no


def test_a_condition_of_a_yes_no_question_asks_no_date() -> None:
    assert not analyse("does the widget break when the box is empty").types
    assert analyse("can you tell me when the widget was released").types


def test_a_yes_no_question_is_answered_by_the_sentence_that_can_say_no(embedder) -> None:
    docs = {
        "widgets": [
            "Round widgets and square widgets can both be made with a tool.",
            "This tool currently makes only square widgets.",
            "Widgets are made in the workshop.",
        ]
    }
    reader, passages = _reader(embedder, docs)
    draft = reader.generate("can I make a round widget with this tool?", passages, [])
    assert not draft.abstained
    assert draft.text.startswith("This tool currently makes only square widgets.")


def test_the_focus_noun_after_a_word_tagged_as_a_verb() -> None:
    assert analyse("which merge strategy does git use out of the box").focus_noun == "strategy"
    assert analyse("what caused damage to the dam?").focus_noun == ""


# -- "what time": a clock time; "what time of day": a part of the day --------------------------------
def test_what_time_needs_a_clock_time_but_time_of_day_takes_a_part_of_the_day() -> None:
    sentence = "The bridge closed on Sunday night."
    assert analyse("what time exactly did the bridge close, like what hour").shape == "clock"
    assert _spans(sentence, "what time exactly did the bridge close, like what hour") == []
    assert analyse("what time of day did the bridge close").shape == "daytime"
    assert _spans(sentence, "what time of day did the bridge close") == ["Sunday night"]
    assert _spans("The bridge closed at 9:15 pm.", "what time did the bridge close?") == ["9:15 pm"]


def test_an_announced_code_block_is_found_verbatim_after_its_sentence() -> None:
    chunk = "Intro. To make one, use the following command:\n\n```sh\n$ widget make box\n```\n\nThen wait."
    assert announced_block(chunk, "To make one, use the following command:") == "$ widget make box"
    assert announced_block(chunk, "Intro.") is None  # prose follows, not a block
    assert announced_block(chunk, "Not in the chunk:") is None
    assert announced_block("Run this:\n\n```\n" + "x = 1\n" * 100 + "```", "Run this:") is None  # a listing


def test_a_command_kept_as_a_code_block_is_quoted_after_the_sentence_announcing_it(embedder) -> None:
    # structured pages (DocBook, Markdown) keep a command as a fenced block, which is no prose sentence
    announcing = "For example, if you own the archive old, you can delete it with the following command:"
    after = "If this prints nothing, the archive is gone."
    reader, (passage,) = _reader(embedder, {"archives": [MANUAL["archives"][0], announcing, after]})
    passage = replace(passage, text=f"{MANUAL['archives'][0]} {announcing}\n\n```\n$ widget purge old\n```\n\n{after}")
    draft = reader.generate("what command deletes an archive i dont need anymore", [passage], [])
    assert not draft.abstained
    assert "$ widget purge old" in draft.quotes[1]
    assert "widget purge old" in draft.text and after not in draft.text


def test_a_repeated_lead_in_is_said_once() -> None:
    from rag.leads import drop_repeated_leads

    parts = [
        ("wrap.Box.parent: The logical parent of the box:", [1]),
        ("wrap.Box.parent: You cannot go past the outermost box.", [1]),
        ("wrap.Box.width: The width in columns.", [2]),
        ("wrap.Box.parent: Note: this is lexical.", [2]),
    ]
    assert [s for s, _ in drop_repeated_leads(parts)] == [
        "wrap.Box.parent: The logical parent of the box:",
        "You cannot go past the outermost box.",
        "wrap.Box.width: The width in columns.",
        "Note: this is lexical.",
    ]
    assert [ns for _, ns in drop_repeated_leads(parts)] == [[1], [1], [2], [2]]


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("wrap.Box.parent: The logical parent of the box.", "wrap.Box.parent"),
        ("wrap.fill(): Wraps the paragraph.", "wrap.fill()"),
        ("orElse(): Returns: the value, if present.", "orElse()"),  # javadoc: a method named without its class
        ("Returns: the value, if present.", None),
        ("-q, --quiet: Prints nothing.", "-q, --quiet"),
        ("Note: This is lexical.", None),
        ("Changed in version 3.10: Added the width parameter.", None),
        ("The box is empty: nothing to wrap.", None),
        ("wrap.Box.parent:", None),
    ],
)
def test_a_code_shaped_lead_in(text: str, lead: str | None) -> None:
    from rag.leads import code_lead

    assert code_lead(text) == lead


def test_a_later_sentence_of_a_led_paragraph_names_its_entry() -> None:
    from rag.leads import named, paragraph_lead

    chunk = (
        "Intro text of the page.\n\n"
        "wrap.Box(): This class makes a box. On closing, the box and its contents are removed.\n\n"
        "Note: Boxes nest. They never overlap."
    )
    assert paragraph_lead(chunk, "On closing, the box and its contents are removed.") == "wrap.Box()"
    assert named("On closing, the box and its contents are removed.", chunk) == (
        "wrap.Box(): On closing, the box and its contents are removed."
    )
    assert named("wrap.Box(): This class makes a box.", chunk) == "wrap.Box(): This class makes a box."
    assert named("They never overlap.", chunk) == "They never overlap."  # "Note" is not a term
    assert named("Intro text of the page.", chunk) == "Intro text of the page."


SHELF = {
    "ref": [
        "shelf.getsize(): Return the size, in bytes, of the shelf file on disk.",
        "On closing, the shelf and every record it holds are removed from the disk for good.",
    ],
    "other": ["The shelf module stores records of any kind in one file, keyed by strings."],
}


def test_a_later_sentence_of_an_entry_names_the_entry_as_claim_and_short_answer(embedder) -> None:
    reader, passages = hand_made_reader(embedder, SHELF)
    draft = reader.generate("is there something that deletes the records automatically when closing?", passages, [])
    assert not draft.abstained
    assert draft.short_answer == "shelf.getsize()"
    assert draft.text.startswith("shelf.getsize(): On closing, the shelf and every record it holds are removed")
    # the quote is the sentence as it stands in the passage, without the name put in front of it
    assert "On closing, the shelf and every record it holds are removed from the disk for good." in draft.quotes[1]


def test_a_reason_is_not_answered_by_an_entry_name(embedder) -> None:
    reader, passages = hand_made_reader(embedder, SHELF)
    draft = reader.generate("why are the records removed from the disk when the shelf is closed?", passages, [])
    assert draft.short_answer != "shelf.getsize()"


@pytest.mark.parametrize(
    ("sentence", "pointer"),
    [
        ("See Section 9.1.1 for how to purge archives.", True),
        ("For details on purging archives, see widget-purge(1).", True),
        ("--purge=<mode>: See the PURGE MODES section in widget(1) for details.", True),
        ("The purge modes are described below.", True),
        ("Purging an archive frees its space (see Chapter 6, Archives).", False),
        ("Run widget stat to see how much space a purge frees.", False),
    ],
)
def test_a_cross_reference_points_elsewhere(sentence: str, pointer: bool) -> None:
    assert points_elsewhere(sentence) is pointer


POINTERS = {
    "purging": [
        "Old archives take up space in the store.",
        "See Section 4.2 for how to purge old archives from the store.",
        "Old archives are removed from the store by widget purge, which frees their space at once.",
    ],
}


def test_a_cross_reference_is_never_quoted_as_the_answer(embedder) -> None:
    reader, passages = _reader(embedder, POINTERS)
    draft = reader.generate("how do i purge old archives from the store?", passages, [])
    assert not draft.abstained
    assert "widget purge" in draft.text
    assert not any("See Section" in q for qs in draft.quotes.values() for q in qs)


def test_a_quote_ending_in_a_quoted_name_stays_its_own_claim() -> None:
    from rag.answer_values import as_sentence
    from rag.claims import parse_claims

    first, second = 'Bump the version, e.g. one appended with "+x1" in "widget/changelog"', "Widgets keep old versions."
    claims = parse_claims(f"{as_sentence(first)} [1] {as_sentence(second)} [2]")
    assert [(c.text, [r.n for r in c.refs]) for c in claims] == [(first + ".", [1]), (second, [2])]
    assert as_sentence("he said, “we will act.”") == "he said, “we will act.”"


def test_a_name_right_before_the_asked_noun_names_it_when_the_parse_splits_them() -> None:
    # the tagger read "lock" as a verb: the noun phrase ends before it
    sentence = "The rebuild takes an EXCLUSIVE ROW lock on the whole table."
    start = sentence.index("an EXCLUSIVE")
    chunks = (Span(0, 11, "NP", "The rebuild"), Span(start, start + 16, "NP", "an EXCLUSIVE ROW"))
    spans = answer_spans(sentence, analyse("what lock does the rebuild take"), Annotation(ents=(), chunks=chunks))
    assert "an EXCLUSIVE ROW lock" in [s.text for s in spans]
    lowercase = (Span(start, start + 16, "NP", "an exclusive row"),)
    plain = sentence.replace("EXCLUSIVE ROW", "exclusive row")
    assert answer_spans(plain, analyse("what lock does the rebuild take"), Annotation(ents=(), chunks=lowercase)) == []


def test_a_sentence_opening_its_chunk_names_the_entry_of_its_signature_heading() -> None:
    from rag.leads import named, section_lead

    chunk = "Given an error code, return a human readable description of it.\n\nwidget_free(): Free the widget."
    sentence = "Given an error code, return a human readable description of it."
    assert section_lead(chunk, sentence, "Widget API > Functions > widget_error_desc()") == "widget_error_desc()"
    assert named(sentence, chunk, "Widget API > widget_error_desc ()") == f"widget_error_desc(): {sentence}"
    # a heading of prose, or a sentence inside the chunk, takes nothing from the section
    assert section_lead(chunk, sentence, "Widget API > Error codes") is None
    assert section_lead(chunk, "Free the widget.", "Widget API > widget_error_desc()") is None


WIDGET_REF = {
    "ref": [
        "widget_error_desc(): Given an error previously returned by widget_get_error(), return a human readable "
        "description of the error.",
        "widget_free(): Free a widget previously allocated with widget_new().",
    ],
    "other": ["The widget library builds widgets of any kind from a description."],
}


def test_a_call_the_entry_sentence_mentions_is_not_the_short_answer(embedder) -> None:
    reader, passages = hand_made_reader(embedder, WIDGET_REF)
    draft = reader.generate("how do i get a human readable message for a widget error", passages, [])
    assert not draft.abstained
    assert draft.short_answer == "widget_error_desc()"
