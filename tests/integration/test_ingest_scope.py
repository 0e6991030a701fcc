"""Identity, scope, prune, dry run, --source, old indexes, unsafe files, a real mixed corpus, store failures.

Real parts: MiniLM, embedded Chroma in tmp dirs, a `chroma run` server, `citebot` processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.pipeline import Ingester, ingest_paths
from rag.embedding import MiniLMEmbedder
from rag.settings import Settings, settings_env
from rag.store import ChromaStore
from tests.support.documents import write_docx, write_pdf
from tests.support.servers import VENV_BIN

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
PYDOCS = ROOT / "tests" / "data" / "pydocs"
CITEBOT = VENV_BIN / "citebot"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def settings_for(data_dir: Path, **overrides) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **overrides)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def readme(topic: str) -> str:
    return f"About {topic}\n\nThis folder holds the notes about {topic}. They were written last spring."


def keys(settings: Settings) -> set[str]:
    return {str(e["key"]) for e in ChromaStore(settings).file_entries().values()}


def run_cli(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(settings_env(settings))
    return subprocess.run([str(CITEBOT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# -- identity and scope ---------------------------------------------------------------------------
def test_same_named_files_in_two_folders_are_two_documents(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    a, b = write(tmp_path / "a" / "README.md", readme("apples")), write(tmp_path / "b" / "README.md", readme("boats"))
    settings = settings_for(tmp_path / "data")
    first = ingest_paths(settings, [a.parent], progress=False, embedder=embedder)
    second = ingest_paths(settings, [b.parent], progress=False, embedder=embedder)
    assert (first.added, second.added, second.updated) == (1, 1, 0)
    assert keys(settings) == {str(a.resolve()), str(b.resolve())}
    chunks = ChromaStore(settings).all_chunks()
    assert {c.metadata["source"] for c in chunks} == {"README.md"}  # display stays relative
    assert {"apples", "boats"} <= {w for c in chunks for w in c.text.split()}


def test_prune_touches_only_this_runs_paths(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    notes, pages = tmp_path / "notes", tmp_path / "pages"
    for name in ("one", "two"):
        write(notes / f"{name}.txt", readme(name))
        write(pages / f"{name}.txt", readme(f"page {name}"))
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [notes, pages], progress=False, embedder=embedder)
    (pages / "two.txt").unlink()
    (notes / "two.txt").unlink()

    report = Ingester(settings, embedder=embedder).run([notes], prune=True, progress=False)
    assert report.pruned_sources == [str((notes / "two.txt").resolve())]
    assert keys(settings) == {
        str((notes / "one.txt").resolve()),
        *(str((pages / n).resolve()) for n in ("one.txt", "two.txt")),
    }
    # a single file given is a scope of one: nothing else under its folder is pruned
    report = Ingester(settings, embedder=embedder).run([pages / "one.txt"], prune=True, progress=False)
    assert report.pruned == 0
    report = Ingester(settings, embedder=embedder).run([pages], prune=True, progress=False)
    assert report.pruned_sources == [str((pages / "two.txt").resolve())]


def test_dry_run_writes_nothing_and_lists_the_plan(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = tmp_path / "c"
    write(corpus / "keep.txt", readme("keeping"))
    write(corpus / "edit.txt", readme("editing"))
    write(corpus / "gone.txt", readme("leaving"))
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    store = ChromaStore(settings)
    fingerprint = store.fingerprint()
    write(corpus / "edit.txt", readme("editing again"))
    write(corpus / "new.txt", readme("arriving"))
    (corpus / "gone.txt").unlink()
    proc = run_cli(settings, "ingest", str(corpus), "--prune", "--dry-run", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert {"would add  new.txt", "would update  edit.txt", "would prune  gone.txt"} <= set(lines), proc.stdout
    assert store.fingerprint() == fingerprint and len(store.file_entries()) == 3


def test_source_name_identity_survives_a_moved_folder(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    first_place = tmp_path / "mnt1" / "corpus"
    write(first_place / "sub" / "x.txt", readme("the mounted corpus"))
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [first_place], progress=False, embedder=embedder, source_name="team")
    assert keys(settings) == {"team:sub/x.txt"}
    moved = tmp_path / "mnt2" / "corpus"
    moved.parent.mkdir()
    shutil.copytree(first_place, moved, copy_function=shutil.copy2)
    shutil.rmtree(first_place)
    report = Ingester(settings, embedder=embedder).run([moved], prune=True, progress=False, source_name="team")
    assert (report.unchanged, report.added, report.pruned) == (1, 0, 0)
    # another name is another scope: its prune never touches "team"
    other = write(tmp_path / "other" / "y.txt", readme("another corpus"))
    ingest_paths(settings, [other.parent], progress=False, embedder=embedder, source_name="other")
    (tmp_path / "emptyish").mkdir()
    report = Ingester(settings, embedder=embedder).run(
        [tmp_path / "emptyish"], prune=True, progress=False, source_name="other"
    )
    assert report.pruned_sources == ["other:y.txt"] and keys(settings) == {"team:sub/x.txt"}


def test_old_identity_scheme_is_refused_with_reindex_advice(tmp_path: Path) -> None:
    import chromadb

    data = tmp_path / "data"
    client = chromadb.PersistentClient(path=str(data / "chroma"))
    old = client.create_collection(
        "citebot", metadata={"hnsw:space": "cosine", "embedding_model": MiniLMEmbedder.name, "embedding_dim": 384}
    )
    old.add(
        ids=["abc:0000"],
        embeddings=[[0.1] * 384],
        documents=["An old chunk."],
        metadatas=[{"doc_id": "abc", "source": "a.txt"}],
    )
    del client
    corpus = write(tmp_path / "c" / "a.txt", readme("old indexes")).parent
    settings = settings_for(data)
    proc = run_cli(settings, "ingest", str(corpus), "--quiet", cwd=tmp_path)
    assert proc.returncode == 1 and "--reindex" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = run_cli(settings, "ingest", str(corpus), "--quiet", "--reindex", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert keys(settings) == {str((corpus / "a.txt").resolve())}
    assert "id_scheme" not in (old.metadata or {})  # what made it old


# -- unchanged files ----------------------------------------------------------------------------
def test_unchanged_files_need_neither_the_model_nor_the_chunks(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = tmp_path / "c"
    shutil.copytree(PYDOCS, corpus)
    shutil.copytree(SEEDS, corpus / "seeds")
    settings = settings_for(tmp_path / "data")
    first = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    assert first.added == 10 and first.failed == 0, first.failures  # 4 pages + their README + 5 seeds
    ingester = Ingester(settings)  # no embedder given: it would be built on first use
    started = time.perf_counter()
    again = ingester.run([corpus], progress=False)
    print(f"\nunchanged re-ingest of {again.files} files: {time.perf_counter() - started:.2f} s wall")
    assert (again.unchanged, again.chunks) == (10, 0)
    assert ingester._embedder is None  # the model was never loaded
    # touched but identical: recognised by the hash, and recorded so the next run needs only stat()
    os.utime(corpus / "secrets.html", ns=(time.time_ns(), time.time_ns()))
    touched = Ingester(settings).run([corpus], progress=False)
    assert (touched.unchanged, touched.chunks) == (10, 0)
    entry = next(e for e in ChromaStore(settings).file_entries().values() if e["source"] == "secrets.html")
    assert entry["mtime_ns"] == (corpus / "secrets.html").stat().st_mtime_ns


# -- unsafe and broken files ----------------------------------------------------------------------
def test_symlinks_fifos_loops_and_odd_entries_are_reported_never_followed(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write(corpus / "good.txt", readme("good things"))
    write(tmp_path / "outside" / "secret.txt", "a secret outside the folder")
    (corpus / "escape.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (corpus / "inside.txt").symlink_to(corpus / "good.txt")  # the same document, once
    (corpus / "loop1.txt").symlink_to(corpus / "loop2.txt")
    (corpus / "loop2.txt").symlink_to(corpus / "loop1.txt")
    (corpus / "linked-dir").symlink_to(tmp_path / "outside")
    os.mkfifo(corpus / "pipe.txt")
    write(corpus / "folder.txt" / "nested.md", readme("nested notes"))
    write(corpus / "table.csv", "a,b\n1,2\n")
    found = discover([corpus])
    assert [c.source for c in found.candidates] == ["folder.txt/nested.md", "good.txt"]
    reasons = dict(found.skipped)
    assert "outside the folder" in reasons["escape.txt"]
    assert "loop" in reasons["loop1.txt"] and "loop" in reasons["loop2.txt"]
    assert "FIFO" in reasons["pipe.txt"]
    assert "not followed" in reasons["linked-dir"]
    assert "unsupported" in reasons["table.csv"]
    fifo_alone = discover([corpus / "pipe.txt"])  # a FIFO given directly: reported, never opened
    assert not fifo_alone.candidates and "FIFO" in fifo_alone.skipped[0][1]


def test_a_mixed_real_corpus_ingests_what_it_can(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = tmp_path / "c"
    shutil.copytree(PYDOCS, corpus / "pydocs")
    shutil.copytree(SEEDS, corpus / "seeds")
    write_pdf(corpus / "report.pdf", [["River report"], ["The authority planted two thousand willows this year."]])
    write_docx(
        corpus / "minutes.docx", "Board minutes", {"Budget": ["The board approved three million for the school."]}
    )
    (corpus / "cafe.html").write_bytes(
        "<html><head><meta charset='iso-8859-1'></head><body><article><h1>Caf\u00e9</h1><p>The caf\u00e9 serves cr\u00e8me "
        "br\u00fbl\u00e9e every single day of the week. It opened in the spring.</p></article></body></html>".encode(
            "latin-1"
        )
    )
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    write(corpus / "manifest.json", '{"documents": [{"file": "long.md", "title": "' + "T" * 3000 + '"}]}')
    write(corpus / "long.md", "# Short\n\nA document whose manifest gives it an absurdly long title.")
    settings = settings_for(tmp_path / "data")
    report = ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    print("\n" + report.summary())
    assert report.added == 14 and report.failed == 3  # 5 pydocs files, 5 seeds, pdf, docx, html, md
    assert {f.split(":")[0] for f in report.failures} == {"empty.txt", "binary.txt", "broken.pdf"}
    store = ChromaStore(settings)
    chunks = store.all_chunks()
    by_source = {c.metadata["source"] for c in chunks}
    assert {"report.pdf", "minutes.docx", "cafe.html", "long.md", "pydocs/functools.html"} <= by_source
    assert all(len(c.metadata["title"]) <= 201 for c in chunks)
    # sections are chunk metadata; code is never a sentence record
    functools = [c for c in chunks if c.metadata["source"] == "pydocs/functools.html"]
    assert any(c.metadata["section"].endswith("> partial Objects") for c in functools)
    assert all(c.metadata["section"].startswith("functools — ") for c in functools)
    sentences = store.sentences_for([c.chunk_id for c in functools])
    assert sentences and not [s for s in sentences if "def __init__(self" in s.text or s.text.startswith("```")]
    assert report.sentences == len(store.sentences_for([c.chunk_id for c in chunks]))


def test_sources_and_citations_carry_the_section(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    from rag.engine import build_engine

    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [PYDOCS], progress=False, embedder=embedder)
    answer = build_engine(settings).ask("What does shlex.split() do with the string s?")
    assert answer.sources and all(s.section and s.section.startswith(s.title) for s in answer.sources)
    assert all(c.section for c in answer.citations)


# -- store failures -------------------------------------------------------------------------------
def test_chroma_gone_mid_use_is_a_clear_error_and_the_index_stays_consistent(tmp_path: Path, chroma_server) -> None:
    settings = settings_for(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=chroma_server.port)
    corpus = write(tmp_path / "c" / "a.txt", readme("servers")).parent
    assert run_cli(settings, "ingest", str(corpus), "--quiet", cwd=tmp_path).returncode == 0
    write(corpus / "b.txt", readme("outages"))
    chroma_server.stop()
    proc = run_cli(settings, "ingest", str(corpus), "--quiet", cwd=tmp_path)
    assert proc.returncode == 1 and "not reachable" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    chroma_server.start()
    proc = run_cli(settings, "ingest", str(corpus), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0 and "added              1" in proc.stdout, proc.stdout


def test_documents_list_and_rm(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    corpus = tmp_path / "c"
    write(corpus / "a.txt", readme("lists"))
    write(corpus / "b.txt", readme("removals"))
    settings = settings_for(tmp_path / "data")
    ingest_paths(settings, [corpus], progress=False, embedder=embedder)
    listed = run_cli(settings, "documents", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "a.txt" in listed.stdout and "b.txt" in listed.stdout
    removed = run_cli(settings, "documents", "rm", str(corpus / "a.txt"), "nonexistent-id", cwd=tmp_path)
    assert removed.returncode == 1 and "removed" in removed.stdout and "nonexistent-id" in removed.stderr
    assert keys(settings) == {str((corpus / "b.txt").resolve())}
    assert {c.metadata["source"] for c in ChromaStore(settings).all_chunks()} == {"b.txt"}


def test_store_failure_mid_run_leaves_only_complete_documents(
    tmp_path: Path, chroma_server, embedder: MiniLMEmbedder
) -> None:
    """The Chroma server goes away between two write groups: a clear error, and the index stays consistent."""
    from rag.errors import CitebotError
    from rag.retrieval import complete_versions

    corpus = tmp_path / "c"
    shutil.copytree(SEEDS, corpus)
    settings = settings_for(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=chroma_server.port)
    groups: list[int] = []

    def stop_server_before_the_second_group(texts: list[str]) -> list[dict]:
        groups.append(len(texts))
        if len(groups) == 2:
            chroma_server.stop()
        return [{} for _ in texts]

    ingester = Ingester(settings, embedder=embedder, sentence_annotator=stop_server_before_the_second_group)
    with pytest.raises(CitebotError) as caught:
        ingester.run([corpus], progress=False)
    assert "not reachable" in str(caught.value) or "failed" in str(caught.value)
    chroma_server.start()
    store = ChromaStore(settings)
    chunks = store.all_chunks(include_text=False)
    entries = store.file_entries()
    assert chunks and entries  # the first group was written...
    assert len(entries) < len(list(SEEDS.glob("*.txt")))  # ...and not the rest
    assert {c.chunk_id for c in complete_versions(chunks)} == {c.chunk_id for c in chunks}
    assert {c.metadata["doc_id"] for c in chunks} == set(entries)
    report = Ingester(settings, embedder=embedder).run([corpus], progress=False)
    assert report.unchanged == len(entries) and report.added == 5 - len(entries) and report.failed == 0
