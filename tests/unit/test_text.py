"""rag.text: sentence spans that index the original text exactly, and the keyword terms."""

from __future__ import annotations

import pytest

from rag.text import content_terms, normalize_ws, split_sentences, words


def sentences(text: str) -> list[str]:
    return [text[lo:hi] for lo, hi in split_sentences(text)]


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = "Mr. Smith met Dr. Jones in the U.S. capital. They talked for an hour. Then St. Clair left."
    assert sentences(text) == [
        "Mr. Smith met Dr. Jones in the U.S. capital.",
        "They talked for an hour.",
        "Then St. Clair left.",
    ]


def test_initials_do_not_end_a_sentence() -> None:
    assert sentences("The report by J. K. Rowling was read aloud. It was long.") == [
        "The report by J. K. Rowling was read aloud.",
        "It was long.",
    ]


def test_paragraph_breaks_and_newlines_end_sentences() -> None:
    text = "Headline without a full stop\n\nFirst sentence of the body. Second one!\nA line\n\n\nLast paragraph?"
    assert sentences(text) == [
        "Headline without a full stop",
        "First sentence of the body.",
        "Second one!",
        "A line",
        "Last paragraph?",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "He said, “It was a grave security breach.” Officials agreed. ‘Yes,’ one added."
    assert sentences(text) == ["He said, “It was a grave security breach.”", "Officials agreed.", "‘Yes,’ one added."]


@pytest.mark.parametrize(
    "text",
    [
        "  Leading spaces. And trailing ones.   ",
        "One.\n\n  Two after an indented break.\n\nThree",
        "No end mark at all",
        "Ends with quote.” Next one? Yes!  ",
        "\n\n\n",
        "",
    ],
)
def test_spans_index_the_original_text_exactly(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    for lo, hi in spans:
        assert previous_end <= lo < hi <= len(text)
        piece = text[lo:hi]
        assert piece == piece.strip() and piece
        previous_end = hi
    # nothing but whitespace is left between or around the spans
    covered = "".join(text[lo:hi] for lo, hi in spans)
    assert normalize_ws(covered).replace(" ", "") == normalize_ws(text).replace(" ", "")


def test_words_and_content_terms() -> None:
    assert words("Pakistan’s army and China's engineers") == ["pakistan", "army", "and", "china", "engineers"]
    terms = content_terms("How many Chinese engineers were killed in the bombings?")
    assert terms == ["chines", "engin", "kill", "bomb"]
    assert content_terms("What did they say about it?") == []


def test_latin_abbreviations_inside_a_sentence_do_not_end_it() -> None:
    text = "Skip a revision you cannot test (e.g. it fails to build). Use the short form, i.e. the hash. See the list, etc. Done."
    assert [text[lo:hi] for lo, hi in split_sentences(text)] == [
        "Skip a revision you cannot test (e.g. it fails to build).",
        "Use the short form, i.e. the hash.",
        "See the list, etc.",
        "Done.",
    ]


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_a_period_named_as_a_symbol_does_not_end_a_sentence() -> None:
    text = (
        "It returns the extension, from the last occurrence of the . (period) character to the end. "
        "If the joined path is empty then '.' will be returned, the current directory. Done."
    )
    assert _sentences(text) == [
        "It returns the extension, from the last occurrence of the . (period) character to the end.",
        "If the joined path is empty then '.' will be returned, the current directory.",
        "Done.",
    ]


def test_a_quoted_phrase_or_a_lone_period_line_still_ends_its_sentence() -> None:
    assert _sentences('It prints "What now> ". In general it waits.') == [
        'It prints "What now> ".',
        "In general it waits.",
    ]
    assert _sentences("Terms of use .\n\nThe next paragraph.") == ["Terms of use .", "The next paragraph."]
    assert _sentences("He called it 'fake'. Then he left.") == ["He called it 'fake'.", "Then he left."]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("```\nx = 1\n```\n\nwrap.dedent(): Remove it.", ["```\nx = 1", "```", "wrap.dedent(): Remove it."]),
        ("Format\n\nwrap.dedent(): Remove it.", ["Format", "wrap.dedent(): Remove it."]),
        (
            "by passing frozen=True to the\n\nemulate immutability.",
            ["by passing frozen=True to the\n\nemulate immutability."],
        ),
    ],
)
def test_a_paragraph_led_by_its_term_is_not_a_wrapped_line(text: str, sentences: list[str]) -> None:
    assert [text[lo:hi] for lo, hi in split_sentences(text)] == sentences


def test_word_spans_are_the_words_with_their_offsets() -> None:
    from rag.text import word_spans, words

    text = "Li's 2-way plan, then go!"
    spans = word_spans(text)
    assert [text[lo:hi] for lo, hi, _ in spans] == [w for _, _, w in spans] == ["Li's", "2-way", "plan", "then", "go"]
    assert [w.lower().removesuffix("'s") for _, _, w in spans] == words(text)
