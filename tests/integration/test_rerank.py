"""The optional LLM reranker against a real local OpenAI-protocol server, inside a real HybridRetriever."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest.pipeline import ingest_paths
from rag.embedding import MiniLMEmbedder
from rag.engine import build_engine
from rag.errors import ConfigError
from rag.rerank import LLMReranker, build_reranker, parse_order
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from rag.store import ChromaStore
from tests.support.openai_server import Error, Hang, Malformed, OpenAIServer, Reply

PAGES = {
    "tides.md": "# Tides\n\nTides are caused by the gravity of the Moon and the Sun pulling on the oceans.\n",
    "volcanoes.md": "# Volcanoes\n\nA volcano erupts when magma rises through cracks in the crust.\n",
    "glaciers.md": "# Glaciers\n\nGlaciers form where snow piles up for years and compacts into ice.\n",
}
QUESTION = "what makes the ocean tides rise and fall"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("rerank")
    docs = root / "docs"
    docs.mkdir()
    for name, text in PAGES.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=root / "data")
    ingest_paths(settings, [docs], progress=False)
    return settings


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def _retriever(index: Settings, server: OpenAIServer, **overrides) -> HybridRetriever:
    settings = index.model_copy(update={"openai_base_url": server.base_url, "rerank": "llm", **overrides})
    reranker = LLMReranker(settings)
    return HybridRetriever(ChromaStore(index), MiniLMEmbedder(), index.data_dir, reranker=reranker, rerank_candidates=3)


def test_the_models_order_is_kept_renumbered_with_descending_scores(index: Settings, server: OpenAIServer):
    fused = HybridRetriever(ChromaStore(index), MiniLMEmbedder(), index.data_dir).retrieve(QUESTION, 3)
    assert fused[0].source == "tides.md"
    server.script(Reply("3, 2"))  # the model puts the fused third first, then the second; the first is appended
    passages = _retriever(index, server).retrieve(QUESTION, 2)
    assert [p.chunk_id for p in passages] == [fused[2].chunk_id, fused[1].chunk_id]
    assert [p.n for p in passages] == [1, 2] and passages[0].score > passages[1].score
    sent = server.chat_requests[-1].body
    assert sent["model"] == "gpt-4.1-mini" and sent["temperature"] == 0.0
    user = sent["messages"][-1]["content"]
    assert QUESTION in user and all(f"[{n}]" in user for n in (1, 2, 3)) and "Moon and the Sun" in user


def test_a_failing_slow_or_garbled_reranker_leaves_the_fused_order(index: Settings, server: OpenAIServer):
    fused = [
        p.chunk_id for p in HybridRetriever(ChromaStore(index), MiniLMEmbedder(), index.data_dir).retrieve(QUESTION, 3)
    ]
    retriever = _retriever(index, server, rerank_timeout_s=0.5)
    for step in (Error(500), Malformed("{not json"), Hang(2.0), Reply("I cannot rank these.")):
        server.script(step)
        assert [p.chunk_id for p in retriever.retrieve(QUESTION, 3)] == fused, step
    assert len(server.chat_requests) == 4  # no retries: a skipped rerank costs one call


def test_the_model_name_is_configurable_and_off_is_the_default(index: Settings, server: OpenAIServer):
    server.script(Reply("1"))
    _retriever(index, server, rerank_model="local-model").retrieve(QUESTION, 2)
    assert server.chat_requests[-1].body["model"] == "local-model"
    assert build_reranker(Settings(_env_file=None)) is None
    assert build_engine(index).retriever.reranker is None


def test_rerank_without_a_provider_is_a_clear_configuration_error():
    with pytest.raises(ConfigError, match="CITEBOT_RERANK=llm needs OPENAI_API_KEY"):
        build_reranker(Settings(_env_file=None, rerank="llm"))


def test_parse_order_drops_unknown_and_repeated_numbers_and_appends_the_rest():
    assert parse_order("[3], 1, 3, 9", 4) == [3, 1, 2, 4]
    assert parse_order("", 3) == [1, 2, 3]


def test_the_prompt_file_is_loaded():
    settings = Settings(_env_file=None, rerank="llm", openai_base_url="http://127.0.0.1:9/v1")
    reranker = build_reranker(settings)
    assert reranker is not None and "passage numbers" in reranker.prompt.text and reranker.prompt.version == "1"
