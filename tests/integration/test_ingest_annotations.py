"""The sentence-annotator hook: the Ingester's per-sentence dicts land on each sentence record in Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Ingester
from rag.embedding import MiniLMEmbedder
from rag.errors import CitebotError
from rag.settings import Settings
from rag.store import ChromaStore


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Annotated article\n\nThe river rose by three metres overnight. Residents left their homes early.",
        encoding="utf-8",
    )
    return folder


def test_annotations_are_stored_with_each_sentence(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def annotate(texts: list[str]) -> list[dict]:
        seen.append(list(texts))
        return [
            {"words": len(t.split()), "has_digit": any(c.isdigit() for c in t), "first": t.split()[0]} for t in texts
        ]

    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    store = ChromaStore(settings)
    Ingester(settings, embedder=MiniLMEmbedder(), store=store, sentence_annotator=annotate).run(
        [_corpus(tmp_path / "c")], progress=False
    )
    chunk_ids = [c.chunk_id for c in store.all_chunks(include_text=False)]
    sentences = store.sentences_for(chunk_ids)
    assert sentences and sum(len(batch) for batch in seen) == len(sentences)
    for sentence in sentences:
        assert sentence.meta == {
            "words": len(sentence.text.split()),
            "has_digit": any(c.isdigit() for c in sentence.text),
            "first": sentence.text.split()[0],
        }


def test_no_annotator_means_empty_meta_and_bad_annotations_are_refused(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    store = ChromaStore(settings)
    embedder = MiniLMEmbedder()
    corpus = _corpus(tmp_path / "c")
    Ingester(settings, embedder=embedder, store=store, sentence_annotator=None).run([corpus], progress=False)
    sentences = store.sentences_for([c.chunk_id for c in store.all_chunks(include_text=False)])
    assert sentences and all(s.meta == {} for s in sentences)

    other = Settings(_env_file=None, data_dir=tmp_path / "data2")
    with pytest.raises((CitebotError, ValueError)):
        Ingester(other, embedder=embedder, sentence_annotator=lambda texts: [{"chunk_id": "x"} for _ in texts]).run(
            [corpus], progress=False
        )
