"""BM25's tokens: a hyphenated word counts whole and by its parts."""

from __future__ import annotations

from rag.retrieval import hyphen_parts, keyword_terms
from rag.text import content_terms


def test_a_hyphenated_word_keeps_its_joined_form_and_adds_its_parts():
    terms = keyword_terms("The write-ahead log")
    assert "write-ahead" in terms
    assert {"write", "ahead", "log"} <= set(terms)


def test_text_without_hyphens_tokenises_as_the_reader_does():
    text = "Tides are caused by the gravity of the Moon"
    assert keyword_terms(text) == content_terms(text)
    assert hyphen_parts(text) == []


def test_stopword_parts_of_a_hyphenated_word_are_dropped():
    assert hyphen_parts("an up-to-date copy") == ["date"]


def test_bm25f_terms_weight_title_and_section_over_the_text():
    from rag.retrieval import HEAD_REPEAT, bm25f_terms
    from rag.store_records import StoredChunk

    chunk = StoredChunk("c1", "Tea is steeped in hot water.", {"title": "Brewing", "section": "Green tea"})
    terms = bm25f_terms(chunk)
    assert terms.count("green") == HEAD_REPEAT > 1
    assert terms.count("water") == 1


def test_bm25f_terms_without_title_or_section_are_the_text_terms():
    from rag.retrieval import bm25f_terms, keyword_terms
    from rag.store_records import StoredChunk

    chunk = StoredChunk("c2", "Rebasing rewrites well-known history.", {})
    assert bm25f_terms(chunk) == keyword_terms(chunk.text)


def test_bm25f_terms_with_the_body_already_stemmed_are_the_same_terms():
    from rag.retrieval import bm25f_terms
    from rag.store_records import StoredChunk

    chunk = StoredChunk("c3", "A write-ahead log keeps commits durable.", {"title": "WAL", "section": "Reliability"})
    assert bm25f_terms(chunk, content_terms(chunk.text)) == bm25f_terms(chunk)


def test_a_version_number_is_one_term_in_question_and_text():
    from rag.retrieval import bm25f_terms
    from rag.store_records import StoredChunk

    assert "4.9.0" in keyword_terms("what's new in find 4.9.0?")
    assert "4.9.0" not in keyword_terms("what's new in find 4.9.1?")
    assert {"2.10.2", "3.0"} <= set(keyword_terms("man-db 2.10.2 needs Python 3.0."))
    chunk = StoredChunk("c3", "4.9.0 (2022-02-22): find now supports -files0-from.", {})
    assert "4.9.0" in bm25f_terms(chunk)
