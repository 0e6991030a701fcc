"""A running `citebot serve` keeps answering while another process ingests, changes and prunes documents.

Real parts only: `citebot serve` (uvicorn) and `citebot ingest` as separate processes over embedded
Chroma (one directory, two processes) and over a `chroma run` server. While each ingest runs, a
thread asks questions without pause; every answer must be a 200 whose sources show each document in
one version only (chunk ids carry the content hash), and after the ingest the change is answered
within the refresh interval.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings, settings_env
from tests.support.http import ServeProcess
from tests.support.servers import run_ingest

ARTICLES = {
    "harbour.txt": (
        "Harbour inspection report\n\n"
        "The harbour inspectors found three cracked pylons under the northern pier on Tuesday. "
        "Repairs will take two months, the port authority said."
    ),
    "orchard.txt": (
        "Orchard harvest figures\n\n"
        "The valley orchards picked eleven thousand crates of apples this autumn. "
        "Growers blamed the late frost for the smaller pears."
    ),
    "museum.txt": (
        "Museum reopens its east wing\n\n"
        "The city museum reopened its east wing after a renovation that cost four million euros. "
        "The wing holds the collection of antique clocks."
    ),
}
ADDED = (
    "lighthouse.txt",
    "Lighthouse keeper's count\n\nThe lighthouse keeper counted 4,321 gulls on the rocks during the spring survey. "
    "The survey is held every year in April.",
)
QUESTIONS = [
    "How many cracked pylons did the harbour inspectors find?",
    "How many crates of apples did the orchards pick?",
    "How much did the museum renovation cost?",
    "How many gulls did the lighthouse keeper count?",
]
REFRESH_S = 0.5


def _ingest(settings: Settings, corpus: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_ingest(settings_env(settings), corpus, *extra, timeout=300)


class Asker:
    """Asks without pause in a thread; records every status and any answer mixing document versions."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=60)
        self.statuses: list[int] = []
        self.mixed: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            response = self.client.post("/ask", json={"question": QUESTIONS[n % len(QUESTIONS)]})
            n += 1
            self.statuses.append(response.status_code)
            if response.status_code == 200:
                versions: dict[str, set[str]] = defaultdict(set)
                for source in response.json()["sources"]:
                    versions[source["doc_id"]].add(source["chunk_id"].split(":")[1])
                if any(len(v) > 1 for v in versions.values()):
                    self.mixed.append(response.json())


def ask(base_url: str, question: str) -> dict:
    response = httpx.post(f"{base_url}/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def eventually(check, timeout: float = 20.0):
    """The change must show within the refresh interval; allow for a loaded 2-core machine."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(REFRESH_S)


@pytest.fixture(params=["embedded", "chroma-server"])
def live(request, tmp_path: Path):
    if request.param == "chroma-server":
        server = request.getfixturevalue("chroma_server")
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            chroma_host="127.0.0.1",
            chroma_port=server.port,
            index_refresh_s=REFRESH_S,
            rate_limit_per_minute=0,
        )
    else:
        settings = Settings(
            _env_file=None, data_dir=tmp_path / "data", index_refresh_s=REFRESH_S, rate_limit_per_minute=0
        )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    first = _ingest(settings, corpus)
    assert first.returncode == 0, first.stderr
    with ServeProcess(settings, tmp_path / "serve.log") as serve:
        yield settings, corpus, serve.base_url


def _sources(answer: dict) -> set[str]:
    return {s["source"] for s in answer["sources"]}


def test_serve_answers_through_add_change_and_prune(live) -> None:
    settings, corpus, base_url = live
    assert "harbour.txt" in _sources(ask(base_url, QUESTIONS[0]))

    # add: a new document, ingested by another process while questions keep coming
    (corpus / ADDED[0]).write_text(ADDED[1], encoding="utf-8")
    with Asker(base_url) as asker:
        result = _ingest(settings, corpus)
        time.sleep(2 * REFRESH_S)
    assert result.returncode == 0, result.stderr
    answer = eventually(lambda: (a := ask(base_url, QUESTIONS[3])) and "4,321" in a["answer"] and a)
    assert answer and answer["citations"][0]["source"] == "lighthouse.txt", answer
    assert asker.statuses and set(asker.statuses) == {200}, asker.statuses
    assert not asker.mixed

    # change: the harbour report is corrected; old chunk ids must never be served again
    old_ids = {s["chunk_id"] for s in ask(base_url, QUESTIONS[0])["sources"] if s["source"] == "harbour.txt"}
    (corpus / "harbour.txt").write_text(
        ARTICLES["harbour.txt"].replace("three cracked pylons", "seven cracked pylons"), encoding="utf-8"
    )
    with Asker(base_url) as asker:
        result = _ingest(settings, corpus)
        time.sleep(2 * REFRESH_S)
    assert result.returncode == 0 and "updated            1" in result.stdout, result.stdout
    answer = eventually(lambda: (a := ask(base_url, QUESTIONS[0])) and "seven" in a["answer"] and a)
    assert answer, "the change was not answered"
    harbour = [s for s in answer["sources"] if s["source"] == "harbour.txt"]
    assert harbour and not {s["chunk_id"] for s in harbour} & old_ids
    assert "three cracked" not in answer["answer"]
    assert asker.statuses and set(asker.statuses) == {200}, asker.statuses
    assert not asker.mixed

    # prune: the orchard file is deleted; the document leaves the index and the answers
    (corpus / "orchard.txt").unlink()
    with Asker(base_url) as asker:
        result = _ingest(settings, corpus, "--prune")
        time.sleep(2 * REFRESH_S)
    assert result.returncode == 0, result.stderr
    assert "pruned  " in result.stdout and "orchard.txt" in result.stdout
    gone = eventually(lambda: "orchard.txt" not in _sources(ask(base_url, QUESTIONS[1])))
    assert gone
    listed = httpx.get(f"{base_url}/documents", timeout=30).json()
    assert sorted(d["source"] for d in listed) == ["harbour.txt", "lighthouse.txt", "museum.txt"]
    assert asker.statuses and set(asker.statuses) == {200}, asker.statuses
    assert not asker.mixed


def test_delete_route_removes_a_document_and_needs_the_key(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", index_refresh_s=REFRESH_S, api_keys="k-123")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    assert _ingest(settings, corpus).returncode == 0
    auth = {"Authorization": "Bearer k-123"}
    with ServeProcess(settings, tmp_path / "serve.log") as serve:
        docs = httpx.get(f"{serve.base_url}/documents", headers=auth, timeout=30).json()
        museum = next(d for d in docs if d["source"] == "museum.txt")
        assert httpx.delete(f"{serve.base_url}/documents/{museum['doc_id']}", timeout=30).status_code == 401
        response = httpx.delete(f"{serve.base_url}/documents/{museum['doc_id']}", headers=auth, timeout=30)
        assert response.status_code == 200 and response.json()["chunks_removed"] >= 1, response.text
        again = httpx.delete(f"{serve.base_url}/documents/{museum['doc_id']}", headers=auth, timeout=30)
        assert again.status_code == 404 and again.json()["error"] == "not_found", again.text
        bad = httpx.delete(f"{serve.base_url}/documents/..%2Fetc", headers=auth, timeout=30)
        assert bad.status_code == 404
        answer = httpx.post(f"{serve.base_url}/ask", json={"question": QUESTIONS[2]}, headers=auth, timeout=60)
        assert answer.status_code == 200 and "museum.txt" not in _sources(answer.json())
        left = httpx.get(f"{serve.base_url}/documents", headers=auth, timeout=30).json()
        assert sorted(d["source"] for d in left) == ["harbour.txt", "orchard.txt"]
