"""Ingest with real parts: MiniLM on onnxruntime, embedded Chroma in tmp dirs, `citebot ingest` processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ingest.loaders import doc_id_for, load_file
from ingest.pipeline import Ingester, ingest_paths
from rag.embedding import MINILM_MAX_TOKENS, MiniLMEmbedder
from rag.errors import IndexMismatchError
from rag.settings import Settings
from rag.store import ChromaStore, StoredChunk

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_FILES = sorted(p for p in SEEDS.iterdir() if p.suffix == ".txt")
CITEBOT = Path(sys.executable).parent / "citebot"
SENTENCE_END = tuple('.!?”"’')

ARTICLES = {
    "alpha.txt": (
        "Bomb attack near the airport\n\n"
        "A car bomb exploded near the airport of the port city on Sunday, killing two engineers. "
        "The engineers were travelling in a convoy, officials said.\n\n"
        "Police said the attackers had inside help and that three suspects had been detained."
    ),
    "beta.txt": (
        "New power plant opens\n\n"
        "The coal-fired power plant at the port began producing electricity in March. "
        "It is part of an economic corridor worth sixty-five billion dollars."
    ),
    "gamma.md": (
        "# Security force expanded\n\n"
        "The government added **two thousand** officers to the special protection unit. "
        "The unit guards foreign workers on infrastructure projects."
    ),
}


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    """One real MiniLM for the in-process ingests of this module (loading it per test costs time)."""
    return MiniLMEmbedder()


def settings_for(data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir)


def write_corpus(folder: Path, articles: dict[str, str] = ARTICLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def did(path: Path) -> str:
    """A document's id: from its resolved path."""
    return doc_id_for(str(path.resolve()))


def by_doc(chunks: list[StoredChunk]) -> dict[str, list[StoredChunk]]:
    out: dict[str, list[StoredChunk]] = defaultdict(list)
    for chunk in chunks:
        out[chunk.metadata["doc_id"]].append(chunk)
    return out


def cli_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env["CITEBOT_DATA_DIR"] = str(data_dir)
    env["ANONYMIZED_TELEMETRY"] = "False"
    return env


def summary_numbers(stdout: str) -> dict[str, str]:
    """The summary table `citebot ingest` prints: `name  value` lines."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\w[\w ]*?)\s{2,}(\S+)$", stdout, re.M)}


# -- the seeds -----------------------------------------------------------------------------------
def test_seed_chunks_fit_the_model_window_and_end_at_sentences(seeded_settings: Settings) -> None:
    embedder = MiniLMEmbedder()
    chunks = ChromaStore(seeded_settings).all_chunks()
    assert len(chunks) >= len(SEED_FILES)
    loaded = {did(p): load_file(p, SEEDS) for p in SEED_FILES}
    for doc_id, doc_chunks in by_doc(chunks).items():
        doc_chunks.sort(key=lambda c: c.metadata["chunk_index"])
        count = doc_chunks[0].metadata["chunk_count"]
        assert [c.metadata["chunk_index"] for c in doc_chunks] == list(range(count))
        for chunk in doc_chunks:
            embed_text = f"{chunk.metadata['title']}\n\n{chunk.text}"
            tokens = embedder.count_tokens(embed_text)
            assert tokens <= MINILM_MAX_TOKENS, (chunk.chunk_id, tokens)
            assert chunk.text.strip() and chunk.text in loaded[doc_id].text
            if chunk.metadata["chunk_index"] < count - 1:
                assert chunk.text.rstrip().endswith(SENTENCE_END), (chunk.chunk_id, chunk.text[-60:])
            else:
                assert loaded[doc_id].text.rstrip().endswith(chunk.text.rstrip())


def test_seed_chunk_metadata(seeded_settings: Settings) -> None:
    chunks = ChromaStore(seeded_settings).all_chunks(include_text=False)
    docs = by_doc(chunks)
    assert {c.metadata["source"] for c in chunks} == {p.name for p in SEED_FILES}
    assert "000_df87d34ee5b10a65.txt" in {c.metadata["source"] for c in chunks}
    assert len(docs) == len(SEED_FILES)
    for path in SEED_FILES:
        doc = load_file(path, SEEDS)
        doc_chunks = docs[did(path)]
        assert len(doc_chunks) == doc_chunks[0].metadata["chunk_count"]
        for chunk in doc_chunks:
            meta = chunk.metadata
            assert meta["doc_id"] == doc.doc_id == did(path)
            assert meta["source"] == path.name
            assert meta["title"] == doc.title and meta["title"]
            assert meta["content_hash"] == doc.content_hash
            assert isinstance(meta["chunk_index"], int) and isinstance(meta["chunk_count"], int)
            assert meta["embedding_model"] == MiniLMEmbedder.name
            assert meta["ingested_at"]
    titles = {c.metadata["source"]: c.metadata["title"] for c in chunks}
    assert titles["004_c94a7dcda8e47815.txt"] == (
        "China urges joint security plan with Pakistan amid growing threats to its citizens"
    )


def test_reingesting_the_seeds_changes_nothing(seeded_settings: Settings, embedder: MiniLMEmbedder) -> None:
    store = ChromaStore(seeded_settings)
    before_count, before_fp = store.count(), store.fingerprint()
    report = ingest_paths(seeded_settings, [SEEDS], progress=False, embedder=embedder)
    assert (report.files, report.unchanged, report.added, report.updated, report.chunks) == (5, 5, 0, 0, 0)
    assert report.total_chunks == before_count
    assert (store.count(), store.fingerprint()) == (before_count, before_fp)


# -- idempotence on a small corpus --------------------------------------------------------------
def test_second_run_is_a_no_op(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for(tmp_path / "data")
    first = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert (first.files, first.added, first.failed) == (3, 3, 0) and first.chunks > 0
    store = ChromaStore(settings)
    count, fingerprint = store.count(), store.fingerprint()
    assert count == first.chunks == first.total_chunks
    second = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert (second.unchanged, second.added, second.updated, second.chunks) == (3, 0, 0, 0)
    assert second.embed_seconds == 0.0  # nothing was embedded
    assert (store.count(), store.fingerprint()) == (count, fingerprint)
    assert not Ingester(settings, embedder=embedder).is_stale([corpus])


def test_changed_file_replaces_its_chunks(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    store = ChromaStore(settings)
    alpha_id = did(corpus / "alpha.txt")
    old = store.document_chunks(alpha_id)
    old_hash, old_ids = old[0].metadata["content_hash"], {c.chunk_id for c in old}
    other_before = {c.chunk_id for c in store.all_chunks() if c.metadata["doc_id"] != alpha_id}
    fingerprint = store.fingerprint()

    (corpus / "alpha.txt").write_text(
        ARTICLES["alpha.txt"].replace("three suspects", "five suspects")
        + "\n\nThe airport was closed for six hours after the blast.",
        encoding="utf-8",
    )
    assert Ingester(settings, embedder=embedder).is_stale([corpus])
    report = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert (report.updated, report.unchanged, report.added) == (1, 2, 0)

    chunks = store.all_chunks()
    assert not [c for c in chunks if c.metadata["content_hash"] == old_hash]
    assert not old_ids & {c.chunk_id for c in chunks}
    alpha = [c for c in chunks if c.metadata["doc_id"] == alpha_id]
    assert len(alpha) == alpha[0].metadata["chunk_count"]
    alpha_text = " ".join(c.text for c in alpha)
    assert "five suspects" in alpha_text and "closed for six hours" in alpha_text
    assert "three suspects" not in alpha_text
    assert {c.chunk_id for c in chunks if c.metadata["doc_id"] != alpha_id} == other_before
    assert store.fingerprint() != fingerprint
    # the old chunks' sentences went with them
    assert store.sentences_for(sorted(old_ids)) == []
    assert store.sentences_for([c.chunk_id for c in alpha])


def test_deleted_file_stays_without_prune_and_goes_with_it(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    store = ChromaStore(settings)
    beta_id = did(corpus / "beta.txt")
    beta_ids = [c.chunk_id for c in store.document_chunks(beta_id)]
    assert beta_ids
    (corpus / "beta.txt").unlink()

    kept = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert (kept.files, kept.pruned) == (2, 0)
    assert len(store.document_chunks(beta_id)) == len(beta_ids)

    pruned = ingest_paths(settings, [corpus], progress=False, prune=True, embedder=embedder)
    assert (pruned.pruned, pruned.unchanged) == (1, 2)
    assert store.document_chunks(beta_id) == []
    assert store.sentences_for(beta_ids) == []
    assert {c.metadata["source"] for c in store.all_chunks()} == {"alpha.txt", "gamma.md"}
    assert pruned.total_chunks == store.count()


BAD_FILES = {
    "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "empty.txt": b"",
    "blank.md": b" \n\n\t \n",
    "broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage",
}


def test_broken_files_are_reported_and_good_ones_ingested(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    for name, content in BAD_FILES.items():
        (corpus / name).write_bytes(content)
    settings = settings_for(tmp_path / "data")
    report = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert (report.files, report.added, report.failed) == (7, 3, 4)
    for name in BAD_FILES:
        assert sum(name in failure for failure in report.failures) == 1, name
    assert {c.metadata["source"] for c in ChromaStore(settings).all_chunks()} == set(ARTICLES)


def test_a_file_that_became_unreadable_is_not_pruned(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    store = ChromaStore(settings)
    gamma_chunks = len(store.document_chunks(did(corpus / "gamma.md")))
    (corpus / "gamma.md").write_bytes(b"\x00\x01 corrupted \x00")
    report = ingest_paths(settings, [corpus], progress=False, prune=True, embedder=embedder)
    assert (report.failed, report.pruned, report.unchanged) == (1, 0, 2)
    assert len(store.document_chunks(did(corpus / "gamma.md"))) == gamma_chunks


@pytest.mark.parametrize("strict", [False, True])
def test_cli_ingest_with_broken_files_lists_each_and_exits_0_unless_strict(tmp_path: Path, strict: bool) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    for name, content in BAD_FILES.items():
        (corpus / name).write_bytes(content)
    proc = subprocess.run(
        [str(CITEBOT), "ingest", "--quiet", str(corpus), *(["--strict"] if strict else [])],
        cwd=tmp_path,
        env=cli_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == (1 if strict else 0), proc.stderr
    lines = proc.stderr.splitlines()
    for name in BAD_FILES:
        assert sum(name in line for line in lines) == 1, (name, proc.stderr)
    for good in ARTICLES:
        assert good not in proc.stderr
    numbers = summary_numbers(proc.stdout)
    assert (numbers["files"], numbers["added"], numbers["skipped"]) == ("7", "3", "4"), proc.stdout


def test_cli_ingest_missing_path_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(CITEBOT), "ingest", "--quiet", str(tmp_path / "nowhere")],
        cwd=tmp_path,
        env=cli_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "nowhere" in proc.stderr and "no such file or folder" in proc.stderr


# -- model mismatch -----------------------------------------------------------------------------
def test_model_mismatch_is_refused_and_reindex_rebuilds(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = settings_for(tmp_path / "data")
    first = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    store = ChromaStore(settings)
    store.check_model(embedder.name, embedder.dim)  # the model it was built with: fine
    with pytest.raises(IndexMismatchError) as caught:
        store.check_model("other-model", 384)
    message = str(caught.value)
    assert "--reindex" in message and "other-model" in message and embedder.name in message
    with pytest.raises(IndexMismatchError, match="--reindex"):
        ChromaStore(settings).check_model(embedder.name, 768)

    proc = subprocess.run(
        [str(CITEBOT), "ingest", "--quiet", "--reindex", str(corpus)],
        cwd=tmp_path,
        env=cli_env(settings.data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    numbers = summary_numbers(proc.stdout)
    assert numbers["added"] == "3" and numbers["unchanged"] == "0", proc.stdout
    assert numbers["chunks written"] == numbers["chunks in index"] == str(first.total_chunks)


# -- kill -9 mid-run ----------------------------------------------------------------------------
KILL_SEEDS = ["000_df87d34ee5b10a65.txt", "003_448ca12a3f98553f.txt"]  # the two shortest seeds
COPIES = 4
KILL_AFTER = 2  # files finished before the kill


def test_kill_9_mid_ingest_then_resume_matches_a_clean_ingest(
    tmp_path: Path, seeded_settings: Settings, embedder: MiniLMEmbedder
) -> None:
    corpus = tmp_path / "big"
    corpus.mkdir()
    for copy in range(COPIES):
        for name in KILL_SEEDS:
            # trailing newlines make each copy's bytes differ (identical bytes are one document), the text not
            text = (SEEDS / name).read_text(encoding="utf-8")
            (corpus / f"copy{copy:02d}_{name}").write_text(text + "\n" * (copy + 1))
    files = COPIES * len(KILL_SEEDS)
    data_dir = tmp_path / "data"

    # progress goes to stderr ("embedded N/M documents, K chunks" lines when not a terminal): kill once a group of
    # documents is written, while the next is being embedded
    proc = subprocess.Popen(
        [str(CITEBOT), "ingest", str(corpus)],
        cwd=tmp_path,
        env=cli_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    progress = bytearray()

    def read_progress() -> None:
        for block in iter(lambda: proc.stderr.read1(256), b""):
            progress.extend(block)

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = [int(n) for n in re.findall(rb"embedded (\d+)/\d+ documents", bytes(progress))]
            if done and max(done) > 0:
                time.sleep(0.3)
                break
            time.sleep(0.05)
        finished_early = proc.poll() is not None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        reader.join(timeout=10)
    assert not finished_early, f"ingest ended before it could be killed: {progress.decode(errors='replace')}"
    assert proc.returncode == -signal.SIGKILL

    settings = settings_for(data_dir)
    partial = ChromaStore(settings).count()
    assert partial > 0  # killed after some documents were written...
    report = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert report.failed == 0
    assert report.unchanged >= KILL_AFTER  # what was finished before the kill is not redone
    assert report.unchanged + report.added + report.updated == files

    # The oracle: a clean ingest of the same texts (the session's seeded store holds each seed once;
    # a renamed copy chunks identically, so the clean count is COPIES x the seed's count).
    clean_store = ChromaStore(seeded_settings)
    clean = {
        name: sorted(c.text for c in clean_store.all_chunks() if c.metadata["source"] == name) for name in KILL_SEEDS
    }
    clean_sentences = len(
        clean_store.sentences_for([c.chunk_id for c in clean_store.all_chunks() if c.metadata["source"] in KILL_SEEDS])
    )
    store = ChromaStore(settings)
    chunks = store.all_chunks()
    assert len(chunks) == COPIES * sum(len(texts) for texts in clean.values()) == store.count()
    assert partial < len(chunks)  # ...and before all of them were
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    docs = by_doc(chunks)
    assert len(docs) == files
    for doc_chunks in docs.values():
        source = doc_chunks[0].metadata["source"]
        texts = sorted(c.text for c in doc_chunks)
        assert Counter(texts).most_common(1)[0][1] == 1, source  # no duplicated chunk text in a document
        assert len(doc_chunks) == doc_chunks[0].metadata["chunk_count"]
        assert texts == clean[source.split("_", 1)[1]], source
    assert len(store.sentences_for([c.chunk_id for c in chunks])) == COPIES * clean_sentences
