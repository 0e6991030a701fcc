"""A new user's documentation folder, served: chrome indexed once, navigation never quoted, edits and deletes.

Real parts: `citebot ingest` and `citebot serve` (uvicorn on 127.0.0.1) as processes over embedded Chroma,
questions over HTTP. The folder is written by the test: six HTML pages of one site, each with a menu of
links at the top and the same "last modified <date>" footer, one page gzipped, one broken gzip file.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import httpx

from rag.settings import Settings, settings_env
from rag.store import ChromaStore
from tests.support.http import ServeProcess
from tests.support.servers import run_ingest

FACTS = {
    "pumps": "The cooling pumps are serviced every ninety days by the plant crew.",
    "valves": "Each pressure valve opens at 12 bar and closes again at 9 bar.",
    "filters": "The intake filters are replaced when the pressure drop reaches forty millibar.",
    "alarms": "The fire alarm panel is tested on the first Monday of every month.",
    "meters": "Water meters are read remotely every night at two in the morning.",
    "tanks": "The reserve tank holds 18,000 litres of treated water.",
}
MENU = "Home Pumps Valves Filters Alarms Meters Tanks"


def _page(topic: str, fact: str, day: int) -> str:
    links = "".join(f'<li><a href="{w.lower()}.html">{w}</a></li>' for w in MENU.split())
    return f"""<html><head><title>{topic.title()} handbook</title></head><body>
<div class="menu"><ul>{links}</ul></div><main><h1>{topic.title()} handbook</h1>
<h2>Maintenance</h2><p>{fact} The crew logs the work in the maintenance book.</p>
<p>Questions about the {topic} go to the duty engineer of the shift.</p>
<p>This page was last modified on 2024-03-{day:02d} by the documentation team.</p></main></body></html>"""


def _ingest(settings: Settings, corpus: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_ingest(settings_env(settings), corpus, *extra, timeout=600)


def _ask(base_url: str, question: str) -> dict:
    response = httpx.post(f"{base_url}/ask", json={"question": question}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def _holding(settings: Settings, text: str) -> set[str]:
    return {c.metadata.get("source") for c in ChromaStore(settings).all_chunks() if text in c.text}


def test_a_served_docs_folder_indexes_chrome_once_and_follows_edits_and_deletes(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for day, (topic, fact) in enumerate(FACTS.items(), start=1):
        page = _page(topic, fact, day).encode()
        if topic == "tanks":
            (corpus / "tanks.html.gz").write_bytes(gzip.compress(page))
        else:
            (corpus / f"{topic}.html").write_bytes(page)
    (corpus / "broken.html.gz").write_bytes(gzip.compress(b"<p>lost</p>")[:12])
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", index_refresh_s=0.5, rate_limit_per_minute=0)
    first = _ingest(settings, corpus)
    assert first.returncode == 0, first.stderr
    assert "broken.html.gz: not a readable gzip file" in first.stderr + first.stdout
    assert _holding(settings, "was last modified on") == {"alarms.html"}  # the first page keeps it, once
    assert not _holding(settings, MENU) and not _holding(settings, "Pumps Valves")
    with ServeProcess(settings, tmp_path / "serve.log") as serve:
        answer = _ask(serve.base_url, "How many litres does the reserve tank hold?")
        assert "18,000 litres" in answer["answer"]
        assert {s["source"] for s in answer["citations"]} == {"tanks.html.gz"}
        answer = _ask(serve.base_url, "At what pressure does a valve open?")
        assert "12 bar" in answer["answer"]
        assert all("Maintenance" in c.get("section", "") for c in answer["citations"])
        assert "last modified" not in answer["answer"] and "Home" not in answer["answer"]

        (corpus / "valves.html").write_bytes(_page("valves", FACTS["valves"].replace("12 bar", "15 bar"), 2).encode())
        (corpus / "alarms.html").unlink()
        again = _ingest(settings, corpus, "--prune")
        assert again.returncode == 0, again.stderr
        assert _holding(settings, "was last modified on") == {"filters.html"}  # handed on to the next page
        answer = _ask(serve.base_url, "At what pressure does a valve open?")
        assert "15 bar" in answer["answer"] and "12 bar" not in answer["answer"]
        answer = _ask(serve.base_url, "When is the fire alarm panel tested?")
        assert "alarms.html" not in {s["source"] for s in answer["sources"]}
