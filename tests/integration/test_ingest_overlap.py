"""Chunking in a worker thread while the model embeds (issue 13, item 3) writes exactly what a sequential run writes.

Real parts: MiniLM, spaCy, embedded Chroma in tmp dirs, real HTML pages of the PostgreSQL corpus.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import Ingester
from rag.embedding import MiniLMEmbedder
from rag.settings import Settings
from rag.store import ChromaStore

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "eval" / "corpora" / "postgresql" / "pages"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "pages"
    corpus.mkdir()
    for page in sorted(PAGES.glob("*.html"))[:6]:
        shutil.copy(page, corpus / page.name)
    (corpus / "broken.html").write_bytes(b"\xff\xfe\x00<html")  # unreadable: skipped with a reason, run goes on
    (corpus / "empty.md").write_text("   \n")
    return corpus


def _contents(settings: Settings) -> tuple[dict, dict]:
    store = ChromaStore(settings)
    chunks = {c.chunk_id: c.text for c in store.all_chunks()}
    sentences = {
        (s.chunk_id, s.index): (s.text, s.embedding, s.meta.get("ents")) for s in store.sentences_for(list(chunks))
    }
    return chunks, sentences


def test_overlapped_ingest_writes_what_a_sequential_ingest_writes(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = _corpus(tmp_path)
    seq = Settings(_env_file=None, data_dir=tmp_path / "seq")
    ovl = Settings(_env_file=None, data_dir=tmp_path / "ovl")
    first = Ingester(seq, embedder=embedder, overlap=False).run([corpus], progress=False)
    second = Ingester(ovl, embedder=embedder, overlap=True).run([corpus], progress=False)
    assert first.added == second.added == 6
    assert first.failures == second.failures and first.failed == second.failed >= 1
    assert (first.chunks, first.sentences) == (second.chunks, second.sentences) and first.chunks > 20
    assert "chunk" in second.cpu_stages and second.cpu_stages["chunk"] > 0  # the worker's own CPU seconds
    chunks_a, sentences_a = _contents(seq)
    chunks_b, sentences_b = _contents(ovl)
    assert chunks_a == chunks_b
    assert sentences_a.keys() == sentences_b.keys()
    for key, (text, vector, ents) in sentences_a.items():
        other = sentences_b[key]
        assert (text, ents) == (other[0], other[2])
        assert float(np.dot(vector, other[1])) > 0.9999
    again = Ingester(ovl, embedder=embedder).run([corpus], progress=False)
    assert (again.added, again.updated, again.chunks) == (0, 0, 0)  # complete documents, nothing redone


def test_progress_lines_count_documents_and_chunks(tmp_path: Path, embedder: MiniLMEmbedder, capsys) -> None:
    corpus = _corpus(tmp_path)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    report = Ingester(settings, embedder=embedder).run([corpus], progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("embedded ")]
    assert lines, "no progress was shown"
    done = [re.match(r"embedded (\d+)/(\d+) documents, (\d+) chunks", line) for line in lines]
    assert all(done)
    assert [int(m.group(1)) for m in done] == sorted(int(m.group(1)) for m in done)  # only forward
    last = done[-1]
    assert (
        int(last.group(1)) == int(last.group(2)) == report.added
    )  # every loaded document (unreadable ones fail before)
    assert int(last.group(3)) == report.chunks
