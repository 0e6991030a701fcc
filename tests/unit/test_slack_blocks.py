"""bot.blocks: Answer -> Block Kit within Slack's limits."""

from __future__ import annotations

import json

from bot import blocks
from rag.schemas import Answer, Citation, DocumentInfo, Provenance, Source

PROV = Provenance(embedding_model="minilm", generator="extractive", index_fingerprint="abc")


def _answer(
    text: str, n_cites: int = 2, abstained: bool = False, quote: str = "Two Chinese engineers were killed."
) -> Answer:
    cites = [
        Citation(
            n=i + 1,
            doc_id=f"d{i}",
            source=f"00{i}_x.txt",
            title=f"Title {i} <b>&",
            chunk_id=f"c{i}",
            quote=quote,
            score=0.9,
        )
        for i in range(n_cites)
    ]
    sources = [
        Source(doc_id=f"d{i}", source=f"00{i}_x.txt", title=f"Title {i}", chunk_id=f"c{i}", score=0.5) for i in range(5)
    ]
    return Answer(
        answer=text,
        citations=[] if abstained else cites,
        sources=sources,
        abstained=abstained,
        support=0.5 if not abstained else 0.0,
        mode="extractive",
        provenance=PROV,
        request_id="rid123",
    )


def _all_text(bl: list[dict]) -> str:
    return json.dumps(bl)


def test_answer_keeps_markers_and_lists_each_cited_source_with_quote():
    text, bl = blocks.answer_blocks(_answer("Two were killed [1]. It was a truck bomb [2]."), "aid1")
    assert text.startswith("Two were killed [1].")
    assert bl[0]["text"]["text"] == "Two were killed [1]. It was a truck bomb [2]."
    sections = [b["text"]["text"] for b in bl if b["type"] == "section"]
    assert any(
        s.startswith("*[1] Title 0 &lt;b&gt;&amp;*") and "`000_x.txt`" in s and ">Two Chinese" in s for s in sections
    )
    assert any(s.startswith("*[2] Title 1") for s in sections)
    actions = bl[-1]
    assert actions["type"] == "actions"
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [blocks.ACTION_FEEDBACK_UP, blocks.ACTION_FEEDBACK_DOWN]
    assert all(e["value"] == "aid1" for e in actions["elements"])
    assert "rid123" in _all_text(bl)


def test_short_answer_leads_the_message():
    answer = _answer("Two were killed [1].").model_copy(update={"short_answer": "two <engineers>"})
    text, bl = blocks.answer_blocks(answer, "aid1")
    assert text == "Two were killed [1]."  # the notification text stays the cited answer
    assert bl[0]["text"]["text"] == "*two &lt;engineers&gt;*"
    assert bl[1]["text"]["text"] == "Two were killed [1]."


def test_no_short_answer_no_extra_block():
    _, bl = blocks.answer_blocks(_answer("Two were killed [1]."), "aid1")
    assert bl[0]["text"]["text"] == "Two were killed [1]."


def test_share_button_only_when_asked():
    _, bl = blocks.answer_blocks(_answer("A [1]."), "aid", share=True)
    assert bl[-1]["elements"][0]["action_id"] == blocks.ACTION_SHARE


def test_abstention_says_so_and_lists_nearest_sources():
    text, bl = blocks.answer_blocks(_answer("", abstained=True), "aid")
    assert text == blocks.ABSTAIN_TEXT
    dumped = _all_text(bl)
    assert "do not cover" in dumped and "nearest sources" in dumped
    nearest = [b for b in bl if b["type"] == "section" and "nearest sources" in b["text"]["text"]][0]
    assert nearest["text"]["text"].count("•") == blocks.NEAREST_SOURCES
    assert not any(b["type"] == "section" and b["text"]["text"].startswith("*[") for b in bl)
    text, bl = blocks.answer_blocks(_answer("I could not find this in the documents.", abstained=True), "aid")
    assert text == "I could not find this in the documents." and "could not find" in bl[0]["text"]["text"]


def test_long_answer_is_split_within_limits():
    sentence = "The security situation in the region was discussed at length by officials [1]. "
    long_text = sentence * 200  # ~16k characters
    text, bl = blocks.answer_blocks(_answer(long_text, n_cites=60), "aid")
    assert len(bl) <= blocks.MAX_BLOCKS
    for b in bl:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
    answer_sections = [
        b["text"]["text"] for b in bl if b["type"] == "section" and not b["text"]["text"].startswith("*[")
    ]
    assert " ".join(answer_sections).split() == long_text.split()
    assert "more sources" in _all_text(bl)
    assert len(text) <= blocks.FALLBACK_TEXT_LIMIT


def test_huge_answer_is_shortened_with_notice():
    text = ("word " * 500 + "\n\n") * 60  # 150k characters, 60 sections
    _, bl = blocks.answer_blocks(_answer(text, n_cites=3), "aid")
    assert len(bl) <= blocks.MAX_BLOCKS
    assert "shortened" in _all_text(bl)
    assert sum(1 for b in bl if b["type"] == "section" and b["text"]["text"].startswith("*[")) == 3


def test_split_text_respects_limit_and_keeps_words():
    text = "x" * 7000 + " tail. " + "Short sentence. " * 10
    pieces = blocks.split_text(text, limit=1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())
    assert blocks.split_text("   ") == []


def test_escape_and_error_line():
    assert blocks.escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    line = blocks.error_text("Chroma is down.\nTraceback (most recent call last): ...", "rid9")
    assert "\n" not in line and line.endswith("(request id `rid9`)")


def test_home_view_lists_documents():
    docs = [
        DocumentInfo(doc_id=f"d{i}", source=f"{i}.txt", title=f"Doc {i}", chunks=3, publisher="Reuters")
        for i in range(3)
    ]
    view = blocks.home_view(docs, bot_user_id="UB")
    dumped = json.dumps(view)
    assert view["type"] == "home" and "<@UB>" in dumped and "/ask" in dumped
    assert all(f"Doc {i}" in dumped for i in range(3)) and "(3 articles)" in dumped
    many = [DocumentInfo(doc_id=str(i), source=f"{i}.txt", title=str(i), chunks=1) for i in range(300)]
    assert len(blocks.home_view(many)["blocks"]) <= 100
