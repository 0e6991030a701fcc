"""The composition root: settings -> providers (embedder, store, retriever, generators) -> Engine,
and the front ends over it (the HTTP app with the Slack app mounted on it, or Slack alone).

The one place besides the CLI entry point (rag/cli.py) that imports bot/; the front ends import
nothing from each other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rag.settings import GeneratorKind, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rag.engine import Engine
    from rag.passages import Generator

log = logging.getLogger("citebot.service")


def build_generator(settings: Settings) -> Generator | None:
    """The configured LLM generator, or None for the extractive default."""
    if settings.generator is GeneratorKind.openai:
        from rag.llm import OpenAIGenerator

        return OpenAIGenerator(settings)
    return None


def build_engine(settings: Settings | None = None) -> Engine:
    """Settings -> embedder, store, retriever, generators -> the Engine."""
    from rag.embedding import build_embedder
    from rag.engine import Engine
    from rag.extractive import ExtractiveGenerator
    from rag.fusion import DocAggregation, FusionConfig, FusionMethod
    from rag.generation import ExtractiveAnswerer
    from rag.rerank import build_reranker
    from rag.retrieval import HybridRetriever
    from rag.store import ChromaStore

    settings = settings or Settings()
    embedder = build_embedder(settings)
    store = ChromaStore(settings)
    store.check_model(embedder.name, embedder.dim)  # an index built with another model is refused up front
    fusion = FusionConfig(
        method=FusionMethod(settings.retrieval_fusion),
        aggregation=DocAggregation(settings.retrieval_doc_aggregation),
    )
    retriever = HybridRetriever(
        store,
        embedder,
        settings.data_dir,
        refresh_s=settings.index_refresh_s,
        fusion=fusion,
        reranker=build_reranker(settings),
        rerank_candidates=settings.rerank_candidates,
    )
    # the reader reads the passages' sentences through the retriever, which already holds those of its pool
    reader = ExtractiveGenerator(embedder, retriever.sentences_of, idf=lambda term: retriever.snapshot().idf(term))
    extractive = ExtractiveAnswerer(reader)
    llm = build_generator(settings)
    if llm is None:
        return Engine(settings, embedder, store, retriever, extractive)
    return Engine(settings, embedder, store, retriever, llm, fallback=extractive)


def build_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The HTTP app (`citebot serve`), with `POST /slack/events` when Slack is configured; one engine
    (built at start-up unless given) serves both."""
    from rag.api import create_app
    from rag.engine_handle import EngineHandle

    settings = settings or Settings()
    handle = EngineHandle(lambda: build_engine(settings), engine)
    app = create_app(settings, handle)
    mount_slack(app, handle, settings)
    return app


def mount_slack(app: FastAPI, engine: object, settings: Settings) -> None:
    """Mount the Slack app (HTTP mode) on `app` when a bot token and signing secret are set."""
    token, secret = settings.slack_bot_token, settings.slack_signing_secret
    if not (token and token.get_secret_value() and secret and secret.get_secret_value()):
        return
    try:
        from bot.http import mount_slack as mount
    except ImportError as exc:
        log.warning("Slack is configured but bot/ cannot be imported (%s): /slack/events is off", exc)
        return
    mount(app, engine, settings)


def run_slack_socket_mode(settings: Settings) -> int:
    """`citebot slack`: the Slack app over Socket Mode, on its own engine."""
    from bot.socket import check_socket_settings, run_socket_mode

    check_socket_settings(settings)  # fails early, with a clear message, before the engine loads
    return run_socket_mode(build_engine(settings), settings)
