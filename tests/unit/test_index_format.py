"""The index format: what a chunk is embedded from, and how an older index is recognised."""

from __future__ import annotations

from llama_index.core.schema import TextNode

from rag.store_format import (
    EMBED_TEXT,
    FORMAT,
    ID_SCHEME,
    chunk_embedding_text,
    format_of,
    mismatch_message,
    node_embedding_text,
    outdated,
    with_format,
)


def test_a_chunk_is_embedded_from_its_own_words_without_title_or_section():
    assert (
        chunk_embedding_text("Backups", "Backups > SQL Dump", "pg_dump writes a script.") == "pg_dump writes a script."
    )
    node = TextNode(text="pg_dump writes a script.", metadata={"title": "Backups", "section": "SQL Dump"})
    assert node_embedding_text(node) == "pg_dump writes a script."
    assert FORMAT == {"id_scheme": ID_SCHEME, "embed_text": EMBED_TEXT} and EMBED_TEXT == "body"


def test_an_index_without_format_keys_is_the_legacy_one_and_outdated_on_both():
    assert format_of(None) == {"id_scheme": "relative-path", "embed_text": "title+body"}
    assert outdated({"hnsw:space": "cosine"}) == ["id_scheme", "embed_text"]
    assert outdated({"id_scheme": ID_SCHEME}) == ["embed_text"]  # what main wrote before this round
    assert outdated({**FORMAT, "embedding_model": "m"}) == []


def test_with_format_stamps_the_format_and_keeps_other_keys_but_not_chromas_own():
    meta = with_format({"hnsw:space": "cosine", "embedding_model": "m", "embed_text": "title+body"})
    assert meta == {"embedding_model": "m", **FORMAT}
    assert outdated(meta) == []


def test_the_refusal_names_the_index_what_is_old_and_the_command_to_fix_it():
    text = mismatch_message("Chroma in /data/chroma", ["embed_text"], {"id_scheme": ID_SCHEME})
    assert "Chroma in /data/chroma" in text and "'title+body'" in text and "'body'" in text
    assert "citebot ingest PATH... --reindex" in text and "relative to the folder" not in text
    both = mismatch_message("x", ["id_scheme", "embed_text"], {})
    assert "relative to the folder" in both and "'title+body'" in both
