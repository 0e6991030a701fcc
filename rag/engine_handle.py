"""The process's one Engine, shared by the HTTP API and the Slack bot, built at start-up by the
composition root (rag.service) and rebuilt on first use if the store was down then.

Front ends hold an EngineHandle, not the Engine: the Slack app can be mounted before the engine
exists (Chroma down at start-up) and still use it once it is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rag.errors import CitebotError, ConfigError
from rag.schemas import Answer, ChunkText, DocumentInfo, Turn

if TYPE_CHECKING:  # importing the engine loads the store and the embedder: only when it is built
    from rag.engine import Engine


class EngineHandle:
    def __init__(self, factory: Callable[[], Engine] | None = None, engine: Engine | None = None) -> None:
        if factory is None and engine is None:
            raise ConfigError("an EngineHandle needs an engine or a way to build one (rag.service.build_engine)")
        self._factory = factory
        self._engine = engine
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @classmethod
    def of(cls, engine: Engine | EngineHandle) -> EngineHandle:
        return engine if isinstance(engine, EngineHandle) else cls(engine=engine)

    @property
    def built(self) -> bool:
        return self._engine is not None

    def get(self) -> Engine:
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                assert self._factory is not None
                try:
                    self._engine = self._factory()
                    self.last_error = None
                except CitebotError as exc:
                    self.last_error = str(exc)
                    raise
            return self._engine

    # -- what the front ends call --------------------------------------------------------------
    def validate_question(self, question: str) -> str:
        return self.get().validate_question(question)

    def ask(self, question: str, history: list[Turn] | None = None, **options) -> Answer:
        return self.get().ask(question, history=history, **options)

    def ask_stream(self, question: str, history: list[Turn] | None = None, **options) -> Iterator[str | Answer]:
        return self.get().ask_stream(question, history=history, **options)

    def documents(self) -> list[DocumentInfo]:
        return self.get().documents()

    def chunks(self, chunk_ids: list[str]) -> list[ChunkText]:
        return self.get().chunks(chunk_ids)

    def delete_document(self, doc_id: str) -> int:
        return self.get().delete_document(doc_id)

    def status(self) -> dict:
        return self.get().status()
