"""An index embedded the old way (title + chunk) is told to re-index; a new one records its format.

Real parts: embedded Chroma in a tmp dir, MiniLM, the engine, `citebot ingest` processes.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from rag.embedding import MiniLMEmbedder
from rag.engine import build_engine
from rag.settings import Settings, settings_env
from rag.store_format import EMBED_TEXT, FORMAT, ID_SCHEME
from tests.support.servers import VENV_BIN

NOTE = "Descaling a kettle\n\nFill the kettle with equal parts vinegar and water, boil it and leave it for an hour.\n"


def _old_index(data: Path, chunks: int) -> None:
    """What citebot wrote before this format: path-v2 ids, vectors of the title + chunk, no embed_text key."""
    import chromadb

    client = chromadb.PersistentClient(path=str(data / "chroma"))
    meta = {"hnsw:space": "cosine", "embedding_model": MiniLMEmbedder.name, "embedding_dim": 384}
    old = client.create_collection("citebot", metadata={**meta, "id_scheme": ID_SCHEME})
    client.create_collection("citebot_sentences", metadata={"hnsw:space": "cosine"})
    client.create_collection("citebot_files")
    for i in range(chunks):
        old.add(
            ids=[f"abc:00000000:{i:04d}"],
            embeddings=[[0.1] * 384],
            documents=["An old chunk about kettles."],
            metadatas=[{"doc_id": "abc", "source": "old.txt", "title": "Old", "chunk_count": chunks}],
        )


def _meta(settings: Settings) -> dict:
    import chromadb

    return dict(chromadb.PersistentClient(path=str(settings.chroma_dir)).get_collection("citebot").metadata or {})


def _cli(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(settings_env(settings))
    return subprocess.run(
        [str(VENV_BIN / "citebot"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_new_index_records_its_format(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.txt").write_text(NOTE, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    ingest_paths(settings, [docs], progress=False)
    meta = _meta(settings)
    assert {k: meta.get(k) for k in FORMAT} == FORMAT and meta["embed_text"] == EMBED_TEXT == "body"


def test_an_old_index_is_refused_for_writing_read_with_a_warning_and_rebuilt_by_reindex(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    _old_index(settings.data_dir, chunks=1)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.txt").write_text(NOTE, encoding="utf-8")

    proc = _cli(settings, "ingest", str(docs), "--quiet", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "--reindex" in proc.stderr and "'title+body'" in proc.stderr, proc.stderr
    assert "embed_text" not in _meta(settings)  # nothing was written into it

    with caplog.at_level(logging.WARNING, logger="rag.store"):
        engine = build_engine(settings)  # still readable: its vectors only match a little less well
        assert engine.status()["chunks"] == 1
        engine.status()
    warnings = [r for r in caplog.records if "index_format_outdated" in r.getMessage()]
    assert len(warnings) == 1 and "--reindex" in warnings[0].getMessage()  # said once, not per health check

    proc = _cli(settings, "ingest", str(docs), "--quiet", "--reindex", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _meta(settings)["embed_text"] == "body"


def test_an_empty_old_collection_is_upgraded_in_place(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    _old_index(settings.data_dir, chunks=0)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.txt").write_text(NOTE, encoding="utf-8")
    report = ingest_paths(settings, [docs], progress=False)
    assert report.added == 1 and _meta(settings)["embed_text"] == "body"
