"""HybridRetriever over a real index: fusion choices, and chunks the snapshot does not hold yet."""

from __future__ import annotations

from pathlib import Path

from ingest.pipeline import ingest_paths
from rag.embedding import MiniLMEmbedder
from rag.fusion import FusionConfig, FusionMethod
from rag.retrieval import KEYWORD_SCHEME, HybridRetriever
from rag.settings import Settings
from rag.store import ChromaStore


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_a_chunk_ingested_after_the_snapshot_waits_for_the_refresh_and_never_crashes(tmp_path: Path):
    docs = tmp_path / "docs"
    _write(docs, "ferns.md", "# Ferns\n\nFerns reproduce with spores instead of seeds and like shade.\n")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    embedder = MiniLMEmbedder()
    ingest_paths(settings, [docs], progress=False, embedder=embedder)
    retriever = HybridRetriever(ChromaStore(settings), embedder, settings.data_dir, refresh_s=3600)
    assert [p.source for p in retriever.retrieve("how do ferns reproduce", 4)] == ["ferns.md"]

    # a second file lands while the running retriever still holds the old snapshot (refresh in an hour):
    # the dense index already returns its chunk, but readers only see whole documents of their snapshot
    _write(docs, "cacti.md", "# Cacti\n\nA cactus stores water in its thick stem and needs little watering.\n")
    ingest_paths(settings, [docs], progress=False, embedder=embedder)
    passages = retriever.retrieve("where does a cactus store water", 4)
    assert "cacti.md" not in [p.source for p in passages]

    retriever.invalidate()  # what the refresh interval does on its own
    passages = retriever.retrieve("where does a cactus store water", 4)
    assert passages[0].source == "cacti.md"
    assert "thick stem" in passages[0].text and passages[0].title
    assert [p.n for p in passages] == list(range(1, len(passages) + 1))


def test_every_fusion_method_ranks_the_page_holding_the_words_and_meaning_first(tmp_path: Path):
    docs = tmp_path / "docs"
    _write(
        docs, "tides.md", "# Tides\n\nTides are caused by the gravity of the Moon and the Sun pulling on the oceans.\n"
    )
    _write(docs, "volcanoes.md", "# Volcanoes\n\nA volcano erupts when magma rises through cracks in the crust.\n")
    _write(docs, "glaciers.md", "# Glaciers\n\nGlaciers form where snow piles up for years and compacts into ice.\n")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    embedder = MiniLMEmbedder()
    ingest_paths(settings, [docs], progress=False, embedder=embedder)
    for method in FusionMethod:
        retriever = HybridRetriever(ChromaStore(settings), embedder, settings.data_dir, fusion=FusionConfig(method))
        passages = retriever.retrieve("what makes the ocean tides rise and fall", 3)
        assert passages[0].source == "tides.md", method
        scores = [p.score for p in passages]
        assert scores == sorted(scores, reverse=True) and 0.0 <= min(scores) <= max(scores) <= 1.0, method


def test_a_question_spelling_a_compound_apart_finds_the_page_that_hyphenates_it(tmp_path: Path):
    docs = tmp_path / "docs"
    _write(docs, "wal.md", "# Logging\n\nChanges go to the write-ahead journal before the data files are touched.\n")
    _write(docs, "backup.md", "# Backup\n\nA base backup copies the data files while the server keeps running.\n")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    embedder = MiniLMEmbedder()
    ingest_paths(settings, [docs], progress=False, embedder=embedder)
    retriever = HybridRetriever(ChromaStore(settings), embedder, settings.data_dir)
    snap = retriever.snapshot()
    assert snap.bm25 is not None
    docs_found, _scores = snap.bm25.retrieve([["ahead"]], k=1, show_progress=False)
    assert snap.chunks[int(docs_found[0][0])].metadata["source"] == "wal.md"
    # the on-disk BM25 cache is keyed by the tokenisation too: an index cached before the change is not reused
    cached = [p.name for p in (settings.data_dir / "bm25").iterdir()]
    assert cached and all(name.startswith(f"{KEYWORD_SCHEME}-") for name in cached)


def test_a_typed_question_lifts_the_page_naming_an_answer_over_the_one_repeating_its_words(tmp_path: Path):
    from rag.evidence import Asked, sentence_cosines, typed_sentence
    from rag.question import analyse

    docs = tmp_path / "docs"
    _write(
        docs,
        "echo.md",
        "# Bakeries of Lyon\n\nThe bakery in Lyon sells croissants, baguettes and tarts, and the bakery opens at six. "
        "Prices at every bakery in Lyon rose last year. Bakery owners in Lyon say flour costs more since the mills "
        "were founded anew.\n",
    )
    _write(
        docs,
        "answer.md",
        "# A family business\n\nThe shop was founded by Marie Dubois in 1921, and her family still bakes bread there.\n",
    )
    _write(docs, "tides.md", "# Tides\n\nTides are caused by the gravity of the Moon and the Sun.\n")
    _write(docs, "glaciers.md", "# Glaciers\n\nGlaciers form where snow piles up for years and turns to ice.\n")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    embedder = MiniLMEmbedder()
    ingest_paths(settings, [docs], progress=False, embedder=embedder)
    retriever = HybridRetriever(ChromaStore(settings), embedder, settings.data_dir)
    question = "Who founded the bakery in Lyon?"
    asked = Asked.of(analyse(question))
    assert "PERSON" in asked.types

    # only the answering page's sentence names a person the question does not (ingest stored its entities)
    chunk_ids = [c.chunk_id for c in retriever.snapshot().chunks]
    sentences = retriever.store.sentences_for(chunk_ids)
    vector = embedder.embed_query(question)
    typed = typed_sentence(sentences, sentence_cosines(sentences, vector), asked.types, asked.terms)
    source = {c.chunk_id: c.metadata["source"] for c in retriever.snapshot().chunks}
    assert [source[c] for c in typed] == ["answer.md"]

    def scores(found: list) -> dict[str, float]:
        return {p.source: p.score for p in found}

    plain = scores(retriever.retrieve(question, 4))
    lifted = scores(retriever.retrieve(question, 4, asked=asked))
    assert lifted["answer.md"] - lifted["echo.md"] > plain["answer.md"] - plain["echo.md"]
    untyped = Asked(frozenset(), asked.terms)  # no asked-for type: no sentence is read, nothing moves
    assert scores(retriever.retrieve(question, 4, asked=untyped)) == plain
    # the pool's sentences are kept by chunk id: asking again, or from a retriever that never read them,
    # ranks alike
    assert scores(retriever.retrieve(question, 4, asked=asked)) == lifted
    fresh = HybridRetriever(ChromaStore(settings), embedder, settings.data_dir)
    assert scores(fresh.retrieve(question, 4, asked=asked)) == lifted
    assert sorted((s.chunk_id, s.index, s.text) for s in retriever.sentences_of(chunk_ids)) == sorted(
        (s.chunk_id, s.index, s.text) for s in sentences
    )
