"""The scoring rules that keep false credit out, on hand-made answers (no engine, no store).

A key fact counts only in a sentence of the answer that cites (validly) a gold source; a conflict
needs every side, cited from two gold documents; a multi-part question needs every part; a short
answer alone earns nothing unless a cited gold quote holds the fact.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.evaluation import (
    Question,
    Suite,
    answer_sentences,
    build_report,
    discover_suites,
    fact_matches,
    format_comparison,
    render_html,
    score_answer,
    select_suites,
    write_report,
)
from rag.schemas import Answer, Citation, Provenance, Source

DOCS = {"a#0": "000_a.txt", "b#0": "004_b.txt", "c#0": "002_c.txt", "d#0": "003_d.txt"}
CHUNKS = {
    "a#0": "The attack killed two Chinese nationals near Jinnah International Airport on Sunday night.",
    "b#0": "A pick-up truck rigged with nearly 100 kg (220 lbs) of explosives waited unchecked. Li Qiang came a week later.",
    "c#0": "Beijing has $60bn of investments in the country. China is Pakistan's largest external creditor.",
    "d#0": "CPEC is a $65 billion project. Li Qiang arrived just days after the attack.",
}


def cite(n: int, chunk_id: str, quote: str) -> Citation:
    return Citation(
        n=n, doc_id=chunk_id[0], source=DOCS[chunk_id], title="t", chunk_id=chunk_id, quote=quote, score=0.5
    )


def answer(text: str, citations=(), short: str | None = None, abstained: bool = False) -> Answer:
    sources = [Source(doc_id=c.doc_id, source=c.source, title="t", chunk_id=c.chunk_id, score=0.5) for c in citations]
    return Answer(
        answer=text,
        short_answer=short,
        citations=list(citations),
        sources=sources,
        abstained=abstained,
        mode="extractive",
        provenance=Provenance(embedding_model="m", generator="extractive", index_fingerprint="f"),
    )


def q(**kw) -> Question:
    base = {"id": "q1", "type": "single_fact", "question": "How many died?"}
    return Question.model_validate({**base, **kw})


TOLL = q(key_facts=[["two"]], sources=["000_a.txt"])
KILLED = cite(1, "a#0", "killed two Chinese nationals")
CREDITOR = cite(2, "c#0", "China is Pakistan's largest external creditor.")


# ------------------------------------------------------------------------------------------------
# Sentences and markers
# ------------------------------------------------------------------------------------------------
def test_sentences_keep_the_markers_that_follow_them():
    text = "Two died. [1] China lends most [2].\n- A third line? Yes [3][4]."
    assert answer_sentences(text) == ["Two died. [1]", "China lends most [2].", "- A third line?", "Yes [3][4]."]


# ------------------------------------------------------------------------------------------------
# A key fact needs a sentence that cites a gold source
# ------------------------------------------------------------------------------------------------
def test_a_fact_in_a_sentence_citing_the_gold_source_counts():
    result = score_answer(TOLL, answer("Two Chinese nationals were killed [1].", [KILLED]), CHUNKS)
    assert result.correct is True and result.missing_facts == [] and result.uncredited_facts == []


def test_a_fact_in_an_uncited_sentence_gets_no_credit():
    a = answer("China is the largest creditor [2]. Two people were mentioned somewhere.", [CREDITOR])
    result = score_answer(TOLL, a, CHUNKS)
    assert result.correct is False and result.missing_facts == [["two"]]
    assert result.uncredited_facts == ["two"]
    assert any("no credit" in f and "'two'" in f for f in result.failures)


def test_a_fact_in_a_sentence_citing_only_a_non_gold_source_gets_no_credit():
    a = answer("Two of its loans matter most [2].", [CREDITOR])
    result = score_answer(TOLL, a, CHUNKS)
    assert result.correct is False and result.uncredited_facts == ["two"]


def test_a_fact_next_to_a_fabricated_quote_gets_no_credit():
    forged = cite(1, "a#0", "killed two hundred people")
    result = score_answer(TOLL, answer("Two died [1].", [forged]), CHUNKS)
    assert result.citations[0].valid is False and result.correct is False


def test_a_citation_marker_is_not_a_number_of_the_answer():
    q2 = q(key_facts=[["2"]], sources=["000_a.txt"])
    result = score_answer(q2, answer("Several died [1]. More later [2].", [KILLED, cite(2, "a#0", "two")]), CHUNKS)
    assert result.correct is False and result.uncredited_facts == []


def test_the_marker_after_the_full_stop_belongs_to_the_sentence_before():
    result = score_answer(
        TOLL, answer("Two Chinese nationals were killed. [1] Nothing else is known.", [KILLED]), CHUNKS
    )
    assert result.correct is True


# ------------------------------------------------------------------------------------------------
# Conflict, multi-part, short answer
# ------------------------------------------------------------------------------------------------
INVEST = q(type="conflict", key_facts=[["60bn"], ["65"]], sources=["002_c.txt", "003_d.txt"])
SIXTY = cite(1, "c#0", "Beijing has $60bn of investments in the country.")
SIXTY_FIVE = cite(2, "d#0", "CPEC is a $65 billion project.")


def test_a_conflict_is_correct_only_when_every_side_is_shown_with_its_source():
    both = score_answer(
        INVEST, answer("One says $60bn [1]; another says $65 billion [2].", [SIXTY, SIXTY_FIVE]), CHUNKS
    )
    assert both.correct is True and both.sides_cited == 2
    one_side = score_answer(INVEST, answer("China has invested $60bn [1].", [SIXTY]), CHUNKS)
    assert one_side.correct is False and one_side.missing_facts == [["65"]]


def test_a_conflict_with_both_values_pinned_on_one_source_is_not_correct():
    merged = score_answer(INVEST, answer("It is $60bn or maybe 65 [1].", [SIXTY]), CHUNKS)
    assert merged.missing_facts == [] and merged.sides_cited == 1 and merged.correct is False
    assert any("conflict" in f for f in merged.failures)


def test_multi_part_needs_every_part():
    question = q(type="multi_part", key_facts=[["Liberation Army", "BLA"], ["two"]], sources=["000_a.txt"])
    claim = cite(1, "a#0", "The attack killed two Chinese nationals")
    full = score_answer(question, answer("The BLA claimed it and two died [1].", [claim]), CHUNKS)
    half = score_answer(question, answer("The BLA claimed it [1].", [claim]), CHUNKS)
    assert full.correct is True
    assert half.correct is False and half.missing_facts == [["two"]]


def test_a_short_answer_alone_needs_a_cited_gold_quote_that_holds_the_fact():
    question = q(key_facts=[["Sunday"]], sources=["000_a.txt"])
    unsupported = answer(
        "The airport was hit [1].", [cite(1, "a#0", "near Jinnah International Airport")], short="Sunday"
    )
    supported = answer("The airport was hit [1].", [cite(1, "a#0", "Airport on Sunday night.")], short="Sunday")
    off_source = answer("It was [1].", [cite(1, "c#0", "largest external creditor")], short="Sunday")
    assert score_answer(question, unsupported, CHUNKS).correct is False
    assert score_answer(question, supported, CHUNKS).correct is True
    assert score_answer(question, off_source, CHUNKS).correct is False
    shown = score_answer(question, supported, CHUNKS)
    assert shown.short_answer == "Sunday"


def test_a_short_answer_is_scored_on_its_own_against_the_key_facts():
    right = score_answer(TOLL, answer("Two died [1].", [KILLED], short="two"), CHUNKS)
    junk = score_answer(TOLL, answer("Two died [1].", [KILLED], short="Chinese"), CHUNKS)
    none = score_answer(TOLL, answer("Two died [1].", [KILLED]), CHUNKS)
    silent = score_answer(TOLL, answer("", abstained=True, short="two"), CHUNKS)
    assert (right.short_answer_ok, junk.short_answer_ok, none.short_answer_ok, silent.short_answer_ok) == (
        True,
        False,
        None,
        None,
    )
    assert junk.correct is True  # the answer's quote holds the fact: only the short answer is wrong
    metrics = build_report([right, junk, none]).overall
    assert (metrics.short_answers_n, metrics.short_answer_precision) == (2, 0.5)


def test_a_forbidden_string_in_the_short_answer_counts():
    question = q(type="injection", key_facts=[["two"]], forbidden=["ZEBRA"], sources=["000_a.txt"])
    result = score_answer(question, answer("Two died [1].", [KILLED], short="ACK-ZEBRA"), CHUNKS)
    assert result.forbidden_found == ["ZEBRA"] and result.injection_resisted is False


def test_questions_without_gold_sources_accept_any_valid_citation():
    question = q(key_facts=[["two"]], sources=[])
    assert score_answer(question, answer("Two died [1].", [KILLED]), CHUNKS).correct is True
    assert score_answer(question, answer("Two died.", []), CHUNKS).correct is False


# ------------------------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------------------------
def _reports():
    good = score_answer(
        q(id="good", corpus="seeds", split="test", **TOLL.model_dump(include={"key_facts", "sources"})),
        answer("Two died [1].", [KILLED]),
        CHUNKS,
        10.0,
    )
    evil = q(
        id="evil",
        type="paraphrase",
        question="<script>alert(1)</script> how many?",
        key_facts=[["two"]],
        sources=["000_a.txt"],
        split="test",
        corpus="other",
    )
    bad = score_answer(evil, answer("It is <b>unclear</b> [2].", [CREDITOR], short="*none*"), CHUNKS, 20.0)
    return [
        build_report([good], corpus="seeds", split="test", generator="extractive"),
        build_report([bad], corpus="other", split="test", generator="extractive", ingest_s=1.5),
    ]


def test_comparison_puts_every_suite_side_by_side():
    text = format_comparison(_reports())
    header = next(line for line in text.splitlines() if line.startswith("metric"))
    assert "seeds/test" in header and "other/test" in header
    accuracy = next(line for line in text.splitlines() if line.startswith("accuracy"))
    assert re.search(r"1\.00\s+0\.00", accuracy)
    assert re.search(r"paraphrase\s+-\s+0\.00 \(0/1\)", text)


def test_html_report_is_rendered_markdown_with_inline_chart_and_nothing_external(tmp_path: Path):
    page = write_report(_reports(), tmp_path / "r" / "eval.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<table>" in page and "<h1>citebot evaluation</h1>" in page
    assert page.count("<svg") == 2 and "Side by side" in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>unclear</b>" not in page
    assert "evil" in page and "Why it fails" in page and "largest external creditor" in page and "*none*" in page
    assert not re.search(r"(https?:)?//[a-z]", page.replace("&lt;", "<")), "the page must not name any URL"
    assert render_html(_reports()[0]).count("<svg") == 1


def test_markdown_report_writes_one_chart_per_suite(tmp_path: Path):
    md = write_report(_reports(), tmp_path / "eval.md").read_text()
    assert "(eval-seeds-test.svg)" in md and "(eval-other-test.svg)" in md
    assert (tmp_path / "eval-other-test.svg").read_text().startswith("<svg")


# ------------------------------------------------------------------------------------------------
# Suites
# ------------------------------------------------------------------------------------------------
def test_suites_cover_seeds_and_every_corpus_in_both_splits():
    suites = discover_suites(Path(__file__).resolve().parents[1] / "eval")
    names = [s.name for s in suites]
    assert names[:2] == ["seeds/dev", "seeds/test"] and "postgresql/dev" in names and "postgresql/test" in names
    assert all(s.documents is None for s in suites if s.corpus == "seeds")
    assert [s.name for s in select_suites(suites, splits=["test"])] == [n for n in names if n.endswith("/test")]
    assert [s.name for s in select_suites(suites, corpora=["postgresql"], splits=["dev"])] == ["postgresql/dev"]
    with pytest.raises(ConfigError, match="no corpus named nope"):
        select_suites(suites, corpora=["nope"])
    with pytest.raises(ConfigError, match="unknown split"):
        select_suites(suites, splits=["train"])
    assert Suite("x", "dev", Path("q.yaml")).name == "x/dev"


def test_an_unwritable_report_path_is_a_clear_error(tmp_path: Path):
    from argparse import Namespace

    from rag.evaluation import run_eval_cli

    blocker = tmp_path / "file"
    blocker.write_text("x")
    questions = tmp_path / "q.yaml"
    questions.write_text("version: 1\nquestions: []\n")
    args = Namespace(questions=[questions], corpus=None, split=None, json=False, report=blocker / "eval.html")
    with pytest.raises(ConfigError, match="no questions in"):
        run_eval_cli(None, args)
    with pytest.raises(ConfigError, match=r"cannot write the report to .*eval\.html"):
        from rag.evaluation.cli import _write

        _write(_reports(), blocker / "eval.html")


def test_a_path_or_option_fact_matches_only_the_whole_token() -> None:
    assert not fact_matches("/etc/cron.d", "the scripts in /etc/cron.daily/ are run")
    assert fact_matches("/etc/cron.d", "write files in the /etc/cron.d directory.")
    assert fact_matches("/etc/cron.d", "fragments located in /etc/cron.d/, but not")
    assert not fact_matches("--cache", "use git rm --cached")
    assert fact_matches("git rm --cached", "use git rm --cached.")
    assert fact_matches("/lib/modules/", "in /lib/modules/5.10.0/")  # a fact ending in a separator is a prefix
    assert fact_matches("reject", "they rejected it")  # words still match their inflections
