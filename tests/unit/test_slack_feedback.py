"""rag.feedback: votes in SQLite and the thumbs-down export for `citebot eval --questions`."""

from __future__ import annotations

import yaml

from rag.cli import main as cli_main
from rag.feedback import FeedbackStore
from rag.schemas import Answer, Citation, Provenance

PROV = Provenance(embedding_model="minilm", generator="extractive", index_fingerprint="abc")


def _answer(text: str) -> Answer:
    cite = Citation(n=1, doc_id="d1", source="sub/001_abc.txt", title="T", chunk_id="c1", quote="Q.", score=0.8)
    return Answer(answer=text, citations=[cite], mode="extractive", provenance=PROV, request_id="req1")


def test_votes_are_stored_and_changed(tmp_path):
    store = FeedbackStore(tmp_path / "slack.sqlite3")
    aid = store.save_answer("How many?", _answer("Two [1]."), user="U1", channel="C1", thread_ts="1.1")
    assert store.get_answer(aid).answer.answer == "Two [1]."
    vote = store.record_vote(aid, user="U2", channel="C1", vote="up")
    assert vote is not None and vote.question == "How many?" and vote.citations[0]["quote"] == "Q."
    store.record_vote(aid, user="U2", channel="C1", vote="down")  # changed their mind
    votes = store.votes()
    assert len(votes) == 1 and votes[0].vote == "down" and votes[0].user == "U2" and votes[0].channel == "C1"
    assert store.record_vote("nope", user="U2", channel="C1", vote="up") is None


def test_thread_records_and_turns(tmp_path):
    store = FeedbackStore(tmp_path / "s.sqlite3")
    assert not store.is_bot_thread("C1", "1.1")
    store.add_thread("C1", "1.1")
    store.add_thread("C1", "1.1")
    assert store.is_bot_thread("C1", "1.1")
    store.save_answer("Q1", _answer("A1 [1]."), user="U1", channel="C1", thread_ts="1.1")
    store.save_answer("Q2", _answer("A2 [1]."), user="U1", channel="C1", thread_ts="1.1")
    turns = store.recent_turns("C1", "1.1", limit=1)
    assert [(t.role, t.content) for t in turns] == [("user", "Q2"), ("assistant", "A2 [1].")]


def test_export_cli_writes_thumbs_down_as_question_set(tmp_path, monkeypatch):
    data = tmp_path / "data"
    store = FeedbackStore(data / "slack.sqlite3")
    bad = store.save_answer("Who claimed it?", _answer("Nobody [1]."), user="U1", channel="C1", thread_ts=None)
    good = store.save_answer("How many?", _answer("Two [1]."), user="U1", channel="C1", thread_ts=None)
    store.record_vote(bad, user="U2", channel="C1", vote="down")
    store.record_vote(bad, user="U3", channel="C1", vote="down")
    store.record_vote(good, user="U2", channel="C1", vote="up")

    out = tmp_path / "out" / "feedback.yaml"
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(data))  # the environment, as a user would set it
    assert cli_main(["feedback", "export", "--to", str(out)]) == 0
    doc = yaml.safe_load(out.read_text())
    assert doc["version"] == 1
    assert len(doc["questions"]) == 1
    case = doc["questions"][0]
    assert case["type"] == "feedback" and case["needs_review"] is True
    assert case["question"] == "Who claimed it?" and case["bot_answer"] == "Nobody [1]."
    assert case["key_facts"] == [] and case["sources"] == ["001_abc.txt"]
    assert sorted(case["feedback"]["users"]) == ["U2", "U3"]
    assert {"id", "type", "question", "answer", "key_facts", "sources"} <= set(case)
    # and `citebot eval --questions FILE` accepts the file: loaded, run, left out of the metrics
    from rag.evaluation import load_questions

    (loaded,) = load_questions([out])
    assert loaded.type == "feedback" and loaded.needs_review and not loaded.scored


def test_export_cli_without_any_feedback(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path / "empty"))
    out = tmp_path / "fb.yaml"
    assert cli_main(["feedback", "export", "--to", str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == {"version": 1, "questions": []}
