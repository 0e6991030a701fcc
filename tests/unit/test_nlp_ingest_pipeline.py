"""The ingest's spaCy pipeline (rag.nlp.INGEST_DISABLED off) gives the same annotations as the full pipeline.

Measured for issue 13 (round 4): `ner` in en_core_web_sm has its own tok2vec, but it does not cross the
sentence boundaries the parser sets, so `ner` alone changes entities (3 of 2,456 sentences of the seeds
and the PostgreSQL pages, in code samples); noun chunks need tagger + attribute_ruler (POS) + parser.
So only the lemmatizer can go. This test keeps any further cut honest on real sentences.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.loaders import load_bytes, load_manifest, read_bytes
from rag import nlp
from rag.text import split_sentences

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (ROOT / "seeds", ROOT / "tests" / "eval" / "corpora" / "postgresql" / "pages")
PER_FOLDER = 200


def _sentences(folder: Path, limit: int) -> list[str]:
    out: list[str] = []
    for cand in discover([folder]).candidates:
        doc = load_bytes(read_bytes(cand.path), cand.path, cand.root, load_manifest(cand.root), key=cand.key)
        out += [doc.text[a:b] for a, b in split_sentences(doc.text) if doc.text[a:b].strip()]
        if len(out) >= limit:
            break
    return list(dict.fromkeys(out))[:limit]


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    texts = [s for folder in FOLDERS for s in _sentences(folder, PER_FOLDER)]
    assert len(texts) >= 300
    return texts


def test_ingest_annotations_equal_the_full_pipeline(sentences: list[str]) -> None:
    full, _ = nlp.pipeline()
    expected = [nlp._encode(nlp._annotation(doc)) for doc in full.pipe(sentences, batch_size=nlp.PIPE_BATCH)]
    got = nlp.annotate_sentences(sentences)
    assert got == expected
    assert sum(meta["ents"] != "[]" for meta in got) > 50  # real entities were compared, not empty lists
    assert sum(meta["chunks"] != "[]" for meta in got) > 200


def test_ingest_disables_only_what_no_annotation_reads() -> None:
    full, _ = nlp.pipeline()
    assert set(nlp.INGEST_DISABLED) <= set(full.pipe_names)
    assert {"ner", "parser", "tagger", "attribute_ruler", "tok2vec"}.isdisjoint(nlp.INGEST_DISABLED)


def test_preload_loads_the_pipeline_in_a_background_thread() -> None:
    """A fresh interpreter (nothing loaded yet): the thread loads spaCy; the first parse uses that pipeline."""
    script = (
        "from rag import nlp\n"
        "t = nlp.preload()\n"
        "assert t is not None and t.daemon\n"
        "doc = nlp.parse('Who founded the company in 2019?')\n"  # waits for the thread's load, no second load
        "t.join(60)\n"
        "first = nlp.pipeline()[0]\n"
        "assert nlp.preload() is None and nlp.pipeline()[0] is first\n"
        "print(nlp.model_name(), [w.pos_ for w in doc][:2])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("en_core_web_sm") and "PRON" in proc.stdout
