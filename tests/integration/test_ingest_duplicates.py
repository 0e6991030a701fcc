"""A copy of a file under another name is one document: real MiniLM, real embedded Chroma."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from rag.embedding import MiniLMEmbedder
from rag.settings import Settings
from rag.store import ChromaStore

TEXT = (
    "Backup policy\n\nThe backups of the file server run every night at three in the morning. "
    "They are kept for thirty days and then deleted."
)
OTHER = "Office hours\n\nThe office closes at six on Fridays, and the doors lock automatically afterwards."


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_a_copy_under_another_name_is_indexed_once_and_reported(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "old").mkdir(parents=True)
    (corpus / "backup.txt").write_text(TEXT, encoding="utf-8")
    (corpus / "old" / "backup copy.txt").write_text(TEXT, encoding="utf-8")
    (corpus / "office.txt").write_text(OTHER, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")

    first = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert (first.files, first.added, first.failed) == (3, 2, 1)
    assert first.failures == ["old/backup copy.txt: same bytes as backup.txt: indexed once"]
    store = ChromaStore(settings)
    assert {c.metadata["source"] for c in store.all_chunks()} == {"backup.txt", "office.txt"}

    # a copy made later, next to an indexed original, is recognised from the file registry
    shutil.copy(corpus / "office.txt", corpus / "office (1).txt")
    second = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert second.added == 0 and "office (1).txt: same bytes as office.txt: indexed once" in second.failures

    # the original deleted and pruned: the copy is now the document
    (corpus / "backup.txt").unlink()
    third = ingest_paths(settings, [corpus], progress=False, prune=True, embedder=embedder)
    assert third.pruned == 1 and third.added == 1
    assert {c.metadata["source"] for c in store.all_chunks()} == {"old/backup copy.txt", "office.txt"}
