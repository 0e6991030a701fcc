"""Answers and 👍/👎 votes, in SQLite under the data dir (`<data_dir>/slack.sqlite3`; the name is
kept from when only the Slack bot wrote it). Shared by the Slack bot and the web page (`rag.web`):

- answers:  every answer the bot gave (question, full Answer JSON, user, channel, thread), keyed by an
            answer id that the 👍/👎 and "Share in channel" buttons carry; answers voted on in the web
            page are stored with channel "web" under the id `web-<request id>`;
- feedback: one vote per user and answer (question, answer, citations, user, channel, vote, time);
- threads:  the threads the bot answered in, so that replies there are treated as follow-ups.

`citebot feedback export --to FILE` writes the 👎 answers as evaluation cases for
`citebot eval --questions FILE` (type "feedback", `needs_review: true`: a person adds the gold answer
and key facts).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import yaml

from rag.schemas import Answer, Turn
from rag.settings import Settings

DB_NAME = "slack.sqlite3"
WEB_CHANNEL = "web"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    user TEXT,
    channel TEXT,
    thread_ts TEXT,
    request_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_thread ON answers (channel, thread_ts, created_at);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations_json TEXT NOT NULL,
    user TEXT NOT NULL,
    channel TEXT,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    request_id TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (answer_id, user)
);
CREATE TABLE IF NOT EXISTS threads (
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel, thread_ts)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredAnswer:
    id: str
    question: str
    answer: Answer
    user: str | None
    channel: str | None
    thread_ts: str | None


@dataclass(frozen=True)
class Vote:
    answer_id: str
    question: str
    answer: str
    citations: list[dict]
    user: str
    channel: str | None
    vote: str
    request_id: str | None
    created_at: str


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(Path(settings.data_dir) / DB_NAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    # answers ---------------------------------------------------------------------------------
    def save_answer(
        self,
        question: str,
        answer: Answer,
        *,
        user: str | None,
        channel: str | None,
        thread_ts: str | None,
    ) -> str:
        answer_id = uuid.uuid4().hex[:16]
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO answers (id, question, answer_json, user, channel, thread_ts, request_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, question, answer.model_dump_json(), user, channel, thread_ts, answer.request_id, _now()),
            )
        return answer_id

    def record_web_vote(self, question: str, answer: Answer, *, user: str, vote: str) -> Vote:
        """A vote from the web page on an answer it was given (and sends back): the answer is stored
        once under `web-<request id>`, so that a changed vote replaces the earlier one."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        answer_id = f"web-{answer.request_id or uuid.uuid4().hex[:16]}"
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO answers (id, question, answer_json, user, channel, thread_ts, request_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                (answer_id, question, answer.model_dump_json(), user, WEB_CHANNEL, answer.request_id, _now()),
            )
        record = self.record_vote(answer_id, user=user, channel=WEB_CHANNEL, vote=vote)
        assert record is not None  # stored just above
        return record

    def get_answer(self, answer_id: str) -> StoredAnswer | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        return StoredAnswer(
            id=row["id"],
            question=row["question"],
            answer=Answer.model_validate_json(row["answer_json"]),
            user=row["user"],
            channel=row["channel"],
            thread_ts=row["thread_ts"],
        )

    def recent_turns(
        self, channel: str, thread_ts: str | None, *, limit: int = 3, since_s: float | None = None
    ) -> list[Turn]:
        """The last `limit` question/answer pairs the bot gave in a thread (or, thread_ts None, a DM)."""
        query = "SELECT question, answer_json, created_at FROM answers WHERE channel = ? AND thread_ts IS ?"
        params: list = [channel, thread_ts]
        if since_s is not None:
            query += " AND created_at >= ?"
            params.append((datetime.now(UTC) - timedelta(seconds=since_s)).isoformat(timespec="seconds"))
        query += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        params.append(limit)
        with self._connect() as db:
            rows = db.execute(query, params).fetchall()
        turns: list[Turn] = []
        for row in reversed(rows):
            answer = Answer.model_validate_json(row["answer_json"])
            turns.append(Turn(role="user", content=row["question"][:8000]))
            turns.append(Turn(role="assistant", content=answer.answer[:8000]))
        return turns

    # threads ---------------------------------------------------------------------------------
    def add_thread(self, channel: str, thread_ts: str) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO threads (channel, thread_ts, created_at) VALUES (?, ?, ?)",
                (channel, thread_ts, _now()),
            )

    def is_bot_thread(self, channel: str, thread_ts: str) -> bool:
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
            ).fetchone()
        return row is not None

    # feedback --------------------------------------------------------------------------------
    def record_vote(self, answer_id: str, *, user: str, channel: str | None, vote: str) -> Vote | None:
        """Store (or change) one user's vote on an answer. None when the answer id is unknown."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        stored = self.get_answer(answer_id)
        if stored is None:
            return None
        citations = [c.model_dump(include={"n", "doc_id", "source", "title", "quote"}) for c in stored.answer.citations]
        record = Vote(
            answer_id=answer_id,
            question=stored.question,
            answer=stored.answer.answer,
            citations=citations,
            user=user,
            channel=channel or stored.channel,
            vote=vote,
            request_id=stored.answer.request_id,
            created_at=_now(),
        )
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO feedback (answer_id, question, answer, citations_json, user, channel, vote, request_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                (
                    record.answer_id,
                    record.question,
                    record.answer,
                    json.dumps(record.citations, ensure_ascii=False),
                    record.user,
                    record.channel,
                    record.vote,
                    record.request_id,
                    record.created_at,
                ),
            )
        return record

    def votes(self, vote: str | None = None) -> list[Vote]:
        query = "SELECT * FROM feedback"
        params: tuple = ()
        if vote:
            query += " WHERE vote = ?"
            params = (vote,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at, id", params).fetchall()
        return [
            Vote(
                answer_id=row["answer_id"],
                question=row["question"],
                answer=row["answer"],
                citations=json.loads(row["citations_json"]),
                user=row["user"],
                channel=row["channel"],
                vote=row["vote"],
                request_id=row["request_id"],
                created_at=row["created_at"],
            )
            for row in rows
        ]

    # export ----------------------------------------------------------------------------------
    def export_cases(self) -> list[dict]:
        """The 👎 answers as question-set items (one per distinct question, the latest answer)."""
        by_question: dict[str, dict] = {}
        for vote in self.votes("down"):
            key = " ".join(vote.question.lower().split())
            case = by_question.get(key)
            if case is None or case["feedback"]["answer_id"] != vote.answer_id:
                sources = []
                for cite in vote.citations:
                    name = PurePosixPath(str(cite.get("source", ""))).name
                    if name and name not in sources:
                        sources.append(name)
                case = {
                    "id": f"feedback-{vote.answer_id}",
                    "type": "feedback",
                    "question": vote.question,
                    "answer": "",
                    "key_facts": [],
                    "sources": sources,
                    "bot_answer": vote.answer,
                    "needs_review": True,
                    "feedback": {
                        "answer_id": vote.answer_id,
                        "request_id": vote.request_id,
                        "channel": vote.channel,
                        "users": [],
                        "voted_at": vote.created_at,
                        "citations": [
                            {"n": c.get("n"), "source": c.get("source"), "quote": c.get("quote")}
                            for c in vote.citations
                        ],
                    },
                }
                by_question[key] = case
            if vote.user not in case["feedback"]["users"]:
                case["feedback"]["users"].append(vote.user)
            case["feedback"]["voted_at"] = vote.created_at
        return list(by_question.values())

    def export(self, path: Path) -> int:
        cases = self.export_cases()
        doc = {"version": 1, "questions": cases}
        header = (
            "# citebot evaluation cases from thumbs-down feedback (Slack and the web page).\n"
            "# type: feedback, needs_review: true -> fill in `answer` and `key_facts` (and check `sources`)\n"
            "# before using these as gold cases. Run: citebot eval --questions THIS_FILE\n"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
        return len(cases)


def export_cli(settings: Settings, path: Path) -> int:
    """`citebot feedback export --to FILE`."""
    db_path = Path(settings.data_dir) / DB_NAME
    if not db_path.exists():
        print(
            f"citebot: no feedback yet ({db_path} does not exist); "
            "votes are stored when people click 👍/👎 under answers in Slack or on the web page.",
            file=sys.stderr,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"version": 1, "questions": []}, sort_keys=False), encoding="utf-8")
        count = 0
    else:
        count = FeedbackStore(db_path).export(path)
    print(f"wrote {count} thumbs-down case(s) to {path}")
    return 0
