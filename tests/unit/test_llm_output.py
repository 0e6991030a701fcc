"""The openai generator's text contract: prompt file, message layout, parsing, stream filtering."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.llm import (
    ANSWER_PROMPT,
    QuotesBlockFilter,
    build_messages,
    format_passages,
    load_prompt,
    parse_llm_output,
)
from rag.passages import Passage
from rag.schemas import Turn

ROOT = Path(__file__).resolve().parents[2]


def passage(n: int, text: str, title: str = "Title", source: str = "a.txt") -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", doc_id=f"d{n}", source=source, title=title, text=text, score=0.5)


def test_prompt_file_has_version_and_contract():
    prompt = load_prompt(ANSWER_PROMPT, ROOT / "prompts")
    assert prompt.version == "1"
    assert not prompt.text.startswith("#"), "the header must not be sent to the model"
    for needle in ("ONLY from the passages", "NOT_FOUND", "QUOTES:", "never instructions", "both sides"):
        assert needle in prompt.text


def test_prompt_without_version_header_is_refused(tmp_path: Path):
    (tmp_path / ANSWER_PROMPT).write_text("You answer questions. NOT_FOUND QUOTES:\n")
    with pytest.raises(ConfigError, match="version"):
        load_prompt(ANSWER_PROMPT, tmp_path)


def test_prompt_that_drops_the_output_contract_is_refused(tmp_path: Path):
    (tmp_path / ANSWER_PROMPT).write_text("# version: 9\n\nJust answer.\n")
    with pytest.raises(ConfigError, match="NOT_FOUND"):
        load_prompt(ANSWER_PROMPT, tmp_path)


def test_missing_prompt_file_names_the_setting(tmp_path: Path):
    with pytest.raises(ConfigError, match="CITEBOT_PROMPTS_DIR"):
        load_prompt(ANSWER_PROMPT, tmp_path)


def test_passages_are_numbered_with_title_and_source():
    text = format_passages([passage(1, " First text. "), passage(2, "Second.", title="B", source="b.md")])
    assert text == "[1] (Title — a.txt)\nFirst text.\n\n[2] (B — b.md)\nSecond."


def test_messages_are_system_history_then_passages_and_question():
    prompt = load_prompt(ANSWER_PROMPT, ROOT / "prompts")
    history = [Turn(role="user", content="Who?"), Turn(role="assistant", content="Them [1].")]
    messages = build_messages(prompt, "  And when?  ", [passage(1, "In 2024.")], history)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == prompt.text
    last = messages[-1]["content"]
    assert "[1] (Title — a.txt)\nIn 2024." in last
    assert "<question>\nAnd when?\n</question>" in last
    assert last.index("<passages>") < last.index("<question>")


def test_parse_answer_and_quotes_block():
    draft = parse_llm_output(
        'Paris hosts it [1]. Critics disagree [2][3].\n\nQUOTES:\n[1] "Paris hosts the games."\n'
        '[2] “Critics said no.”\n[3] Some say yes.\n[2] "Critics said no."\nnot a quote line\n',
        model="m",
    )
    assert draft.text == "Paris hosts it [1]. Critics disagree [2][3]."
    assert draft.quotes == {1: ["Paris hosts the games."], 2: ["Critics said no."], 3: ["Some say yes."]}
    assert not draft.abstained
    assert draft.model == "m"


def test_parse_tolerates_markdown_quotes_header_and_bullets():
    draft = parse_llm_output('It rained [1].\n\n**QUOTES:**\n- [1] "It rained all day."')
    assert draft.text == "It rained [1]."
    assert draft.quotes == {1: ["It rained all day."]}


def test_parse_without_quotes_block_keeps_everything():
    draft = parse_llm_output("It rained [1].")
    assert draft.text == "It rained [1]." and draft.quotes == {}


@pytest.mark.parametrize("raw", ["NOT_FOUND", "NOT_FOUND.", "  NOT_FOUND\n", "**NOT_FOUND**", "NOT_FOUND\n\nQUOTES:\n"])
def test_parse_not_found_is_an_abstention(raw: str):
    draft = parse_llm_output(raw)
    assert draft.abstained and draft.text == "" and draft.quotes == {}


def test_stray_not_found_next_to_a_cited_answer_keeps_the_answer():
    draft = parse_llm_output('It rained [1].\nNOT_FOUND\n\nQUOTES:\n[1] "It rained."')
    assert not draft.abstained
    assert draft.text == "It rained [1]."


def test_a_sentence_mentioning_not_found_is_not_an_abstention():
    draft = parse_llm_output("The page returned NOT_FOUND errors [1].")
    assert not draft.abstained


def _filtered(deltas: list[str]) -> tuple[str, list[str]]:
    f = QuotesBlockFilter()
    shown = [f.feed(d) for d in deltas]
    shown.append(f.flush())
    return "".join(shown), shown


def test_stream_filter_hides_the_quotes_block_split_across_deltas():
    raw = "Paris hosts it [1]. Then more [2].\n\nQUO" + 'TES:\n[1] "Paris hosts the games."'
    deltas = [raw[i : i + 5] for i in range(0, len(raw), 5)]
    text, shown = _filtered(deltas)
    assert text.strip() == "Paris hosts it [1]. Then more [2]."
    assert "QUO" not in text
    # text is shown as it arrives, not only at the end
    assert "".join(shown[:4]) == raw[:20]


def test_stream_filter_hides_not_found():
    text, _ = _filtered(["NOT_", "FOUND"])
    assert text == ""
    text, _ = _filtered(["NOT_FOUND\n"])
    assert text.strip() == ""


def test_stream_filter_matches_parse_on_the_answer_part():
    raw = 'A [1].\nB [2].\n\nQUOTES:\n[1] "A."\n[2] "B."\n'
    text, _ = _filtered([raw[i : i + 3] for i in range(0, len(raw), 3)])
    assert text.strip() == parse_llm_output(raw).text
