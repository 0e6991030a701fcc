"""A folder's header/footer across runs: a page re-ingested alone is judged with the rest of its folder.

Real parts: MiniLM, embedded Chroma in a tmp dir, the real ingest pipeline. The pages are written by the
test: six pages of one site, each ending with the same "last modified <date>" footer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from rag.embedding import MiniLMEmbedder
from rag.settings import Settings
from rag.store import ChromaStore

TOPICS = ["anchors", "buoys", "cables", "docks", "engines", "flags"]
FOOTER = "This page was last modified on 2024-03-0{day} by the harbour documentation team."


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _page(topic: str, day: int, extra: str = "") -> str:
    return (
        f"<html><head><title>{topic.title()}</title></head><body><main><h1>{topic.title()}</h1>"
        f"<p>The {topic} of the harbour are checked by the morning crew every week. {extra}</p>"
        f"<p>Damaged {topic} are reported to the harbour master before noon.</p>"
        f"<p>{FOOTER.format(day=day)}</p></main></body></html>"
    )


def _holding(settings: Settings, text: str) -> set[str]:
    return {str(c.metadata.get("source")) for c in ChromaStore(settings).all_chunks() if text in c.text}


def test_a_page_reingested_alone_keeps_its_folder_footer_dropped(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    for day, topic in enumerate(TOPICS, start=1):
        (folder / f"{topic}.html").write_text(_page(topic, day), encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    ingest_paths(settings, [folder], progress=False, embedder=embedder)
    assert _holding(settings, "was last modified on") == {"anchors.html"}

    edited = folder / "cables.html"
    edited.write_text(_page("cables", 3, "Steel cables are greased in spring."), encoding="utf-8")
    report = ingest_paths(settings, [edited], progress=False, embedder=embedder)
    assert report.updated == 1
    assert _holding(settings, "Steel cables are greased") == {"cables.html"}
    assert _holding(settings, "was last modified on") == {"anchors.html"}  # the footer did not come back

    (folder / "anchors.html").unlink()  # the page that kept the footer is gone: the next by name keeps it
    ingest_paths(settings, [folder], prune=True, progress=False, embedder=embedder)
    assert _holding(settings, "was last modified on") == {"buoys.html"}
