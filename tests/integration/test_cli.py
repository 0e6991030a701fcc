"""`citebot ask` as a real process: usage errors, a missing index, JSON that is the Answer schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rag.schemas import Answer
from rag.settings import Settings

CITEBOT = Path(sys.executable).parent / "citebot"
KARACHI = "How many Chinese engineers were killed in the Karachi bombing?"


def citebot(
    *args: str, data_dir: Path, cwd: Path, stdin: str | None = None, **extra_env: str
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(CITEBOT_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False", **extra_env)
    return subprocess.run(
        [str(CITEBOT), *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=180
    )


def test_empty_question_is_a_usage_error(tmp_path: Path) -> None:
    for question in ("", "   "):
        proc = citebot("ask", question, data_dir=tmp_path / "data", cwd=tmp_path)
        assert proc.returncode == 2
        assert "question is empty" in proc.stderr
        assert proc.stdout == ""


def test_too_long_question_is_a_usage_error(tmp_path: Path) -> None:
    proc = citebot("ask", "w" * 2001, data_dir=tmp_path / "data", cwd=tmp_path)
    assert proc.returncode == 2
    assert "2000" in proc.stderr and "characters" in proc.stderr
    assert proc.stdout == ""


def test_no_index_says_how_to_build_one(tmp_path: Path) -> None:
    proc = citebot("ask", KARACHI, data_dir=tmp_path / "empty", cwd=tmp_path)
    assert proc.returncode == 1
    assert "citebot ingest seeds/" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ask_json_is_the_answer_schema(tmp_path: Path, seeded_settings: Settings) -> None:
    proc = citebot("ask", "--json", "--top-k", "4", KARACHI, data_dir=seeded_settings.data_dir, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    answer = Answer.model_validate_json(proc.stdout)
    assert not answer.abstained
    assert "two" in answer.answer.lower()
    assert answer.citations and answer.citations[0].n == 1
    assert len(answer.sources) == 4
    assert answer.provenance.generator == "extractive"


def test_ask_text_and_interactive_prompt(tmp_path: Path, seeded_settings: Settings) -> None:
    proc = citebot("ask", KARACHI, data_dir=seeded_settings.data_dir, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Sources:" in proc.stdout and "[1]" in proc.stdout
    assert ".txt)" in proc.stdout  # each citation names its file

    session = f"{KARACHI}\nWhat were the names of the two Chinese engineers who were killed?\n\n"
    proc = citebot("ask", data_dir=seeded_settings.data_dir, cwd=tmp_path, stdin=session)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Sources:") == 1  # the answered question
    assert "I could not find this in the documents." in proc.stdout  # the unanswerable one
    assert "Nearest sources:" in proc.stdout


def _comparable(answer: Answer) -> dict:
    return answer.model_dump(exclude={"timings_ms", "request_id"})


def test_ask_answers_as_engine_ask_with_the_question_parsed_in_a_child_or_not(
    tmp_path: Path, seeded_settings: Settings, engine
) -> None:
    """The forked parse (default) and the in-process one (CITEBOT_ASK_PARSE_IN_CHILD=false) give Engine.ask's answer."""
    questions = [KARACHI, "who claimed the attack, and how many people died?", "Which hospital treated the injured?"]
    for question in questions:
        direct = _comparable(engine.ask(question))
        for in_child in ("true", "false"):
            proc = citebot(
                "ask",
                "--json",
                question,
                data_dir=seeded_settings.data_dir,
                cwd=tmp_path,
                CITEBOT_ASK_PARSE_IN_CHILD=in_child,
            )
            assert proc.returncode == 0, proc.stderr
            assert _comparable(Answer.model_validate_json(proc.stdout)) == direct, (question, in_child)
