"""A reader's snapshot keeps, per document, only its newest complete version."""

from __future__ import annotations

from rag.retrieval import complete_versions
from rag.store import StoredChunk


def chunk(doc: str, version: str, index: int, count: int, ns: int) -> StoredChunk:
    meta = {"doc_id": doc, "content_hash": version * 8, "chunk_index": index, "chunk_count": count, "version_ns": ns}
    return StoredChunk(f"{doc}:{version * 8}:{index:04d}", f"text {doc} {version} {index}", meta)


def ids(chunks: list[StoredChunk]) -> set[str]:
    return {c.chunk_id for c in chunks}


def test_half_written_new_version_is_hidden_behind_the_complete_old_one() -> None:
    old = [chunk("d", "a", i, 3, 1) for i in range(3)]
    new_part = [chunk("d", "b", i, 4, 2) for i in range(2)]  # the writer is still adding chunks 2 and 3
    assert ids(complete_versions(old + new_part)) == ids(old)


def test_complete_new_version_wins_before_the_old_one_is_deleted() -> None:
    old = [chunk("d", "a", i, 3, 1) for i in range(3)]
    new = [chunk("d", "b", i, 2, 2) for i in range(2)]
    assert ids(complete_versions(old + new)) == ids(new)


def test_partly_deleted_or_half_written_only_version_is_left_out() -> None:
    pruning = [chunk("gone", "a", i, 3, 1) for i in range(2)]
    other = [chunk("kept", "c", 0, 1, 1)]
    assert ids(complete_versions(pruning + other)) == ids(other)


def test_chunks_without_version_metadata_are_kept() -> None:
    legacy = StoredChunk("x:0000", "old text", {"doc_id": "x"})
    assert complete_versions([legacy]) == [legacy]
