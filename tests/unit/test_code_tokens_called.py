""" "called X", "named X", "known as X" introduce a name, unless a function word follows ("named after")."""

from __future__ import annotations

import pytest

from rag.code_tokens import code_tokens


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The merge uses a strategy called the ort strategy by default.", "the ort strategy"),
        ("It runs the named program in the user's path.", "program"),
    ],
)
def test_a_name_after_called_or_named_is_a_token(text: str, name: str) -> None:
    assert name in [s.text for s in code_tokens(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Variables should be named after the meaning of the option.",
        "The hook is called for every row.",
        "The setting is called by the daemon at start.",
    ],
)
def test_a_function_word_after_called_or_named_is_no_name(text: str) -> None:
    assert code_tokens(text) == []
