"""The `openai` generator: OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

The system prompt lives in prompts/answer_with_citations.txt. Passages are fenced in
`<passage n=...>` tags (tags inside their text defused) and declared data, so instructions injected
into a document are quoted at most, never obeyed; the verifier rejects instruction-like quotes.
The model answers with a citation and its quote right after each claim (`claim [n: "quote"]`), so
each sentence can be verified as soon as it is complete; `parse_llm_output` turns the output into a
Draft (a version-1 QUOTES block is still understood), and rag/citations.py checks it.

Calls use the official `openai` client directly. Retries are ours: 408/409/429/5xx, timeouts and
connection errors are retried `openai_max_retries` times with exponential backoff (0.5 s, 1 s, 2 s
... capped at 8 s, jittered) honouring `Retry-After`, but never past the deadline the engine passes
(what is left of the request's time budget): each attempt gets min(openai_timeout_s, time left).
A stream is read on a helper thread so that waiting stops at the deadline, and the HTTP response
is closed when the stream is cut off or abandoned. Every failure becomes a GeneratorError whose
message names the provider and what to do, never the key. The only module besides
rag/embedding.py that imports openai.

Split by seam: rag/prompts.py (prompt files), rag/llm_format.py (messages and output parsing),
rag/llm_calls.py (attempts, retries, the stream reader, error mapping), this module (the generator).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import ConfigError, GeneratorError
from rag.llm_calls import StreamCutOff, call_with_retries, close_quietly, provider_error, pump
from rag.llm_format import (
    answer_part,
    build_messages,
    format_passages,
    parse_llm_output,
    split_quotes_block,
    user_message,
)
from rag.passages import Draft, Passage
from rag.prompts import ANSWER_PROMPT, NOT_FOUND, Prompt, load_prompt, prompts_dir
from rag.schemas import Turn
from rag.settings import Settings

__all__ = [
    "ANSWER_PROMPT",
    "NOT_FOUND",
    "OpenAIGenerator",
    "Prompt",
    "StreamCutOff",
    "answer_part",
    "build_messages",
    "format_passages",
    "is_reasoning_model",
    "load_prompt",
    "parse_llm_output",
    "prompts_dir",
    "split_quotes_block",
    "user_message",
]

log = logging.getLogger(__name__)

LOCAL_CONTEXT_WINDOW = 8192
_REASONING_RE = re.compile(
    r"(^|/)(o\d+(-[a-z0-9.-]+)?|gpt-5(\.\d+)?(-[a-z0-9.-]+)?)$", re.I
)  # for OpenAI-compatible models llama-index does not know


# -- the generator -------------------------------------------------------------------------------
def _ensure_offline_tiktoken() -> None:
    """llama-index's OpenAI LLM calls tiktoken, which downloads unless pointed at a local cache."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    if cache.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


def _where(base_url: str | None) -> str:
    if not base_url:
        return "OpenAI"
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return f"the OpenAI-compatible server at {host}{f':{parts.port}' if parts.port else ''}"


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 ...): no temperature, max_completion_tokens."""
    return bool(_REASONING_RE.search(model))


class OpenAIGenerator:
    """Answers with an OpenAI(-compatible) chat model. Thread-safe (one shared HTTP client).

    Calls go through the official `openai` client directly, so that every attempt gets the time
    left of the request's budget, retries stop when the budget would be exceeded, and an abandoned
    stream is closed (the HTTP request cancelled). llama-index's LLM for the same model is kept as
    `.llm` (e.g. as an evaluation judge).
    """

    name = "openai"
    streams = True

    def __init__(self, settings: Settings, prompt: Prompt | None = None) -> None:
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError(
                "CITEBOT_GENERATOR=openai needs OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (a local "
                "OpenAI-compatible server such as vLLM, Ollama or llama.cpp)"
            )
        _ensure_offline_tiktoken()
        try:
            import openai
            from llama_index.llms.openai.utils import is_chat_model, is_chatcomp_api_supported
        except ImportError as exc:  # pragma: no cover - pinned dependencies
            raise ConfigError("install llama-index-llms-openai and llama-index-llms-openai-like") from exc

        self.settings = settings
        self.model = settings.openai_model
        self.prompt = prompt or load_prompt(ANSWER_PROMPT, prompts_dir(settings))
        self.prompt_version = f"{self.prompt.name.removesuffix('.txt')}@{self.prompt.version}"
        self.where = _where(settings.openai_base_url)
        self.reasoning = is_reasoning_model(self.model)
        self.known_model = is_chat_model(self.model)
        if self.known_model and not is_chatcomp_api_supported(self.model):
            raise ConfigError(f"model {self.model} only works with OpenAI's Responses API: pick a chat model")
        self._key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        # Retries are ours (bounded by the time budget), so the client makes exactly one attempt.
        self._client = openai.OpenAI(
            api_key=self._key,
            base_url=settings.openai_base_url or None,
            timeout=settings.openai_timeout_s,
            max_retries=0,
        )
        self._max_retries = settings.openai_max_retries
        self._llm: Any = None

    @property
    def llm(self) -> Any:
        """The llama-index LLM for this model (OpenAI, or OpenAILike for names llama-index does not know)."""
        if self._llm is None:
            from llama_index.llms.openai import OpenAI
            from llama_index.llms.openai_like import OpenAILike

            common: dict[str, Any] = {
                "model": self.model,
                "api_key": self._key,
                "timeout": self.settings.openai_timeout_s,
                "max_retries": 0,
                "openai_client": self._client,
                **({"api_base": self.settings.openai_base_url} if self.settings.openai_base_url else {}),
            }
            temperature = self.temperature()
            if self.known_model:
                self._llm = OpenAI(**common, **({"temperature": temperature} if temperature is not None else {}))
            else:
                self._llm = OpenAILike(
                    **common,
                    temperature=temperature if temperature is not None else 0.0,
                    is_chat_model=True,
                    is_function_calling_model=False,
                    context_window=LOCAL_CONTEXT_WINDOW,
                )
        return self._llm

    def temperature(self) -> float | None:
        """Sent only when configured (never to reasoning models); 0 for known non-reasoning OpenAI models."""
        configured = self.settings.openai_temperature
        if self.reasoning:
            if configured is not None:
                log.warning("llm_temperature_ignored model=%s (reasoning models take none)", self.model)
            return None
        if configured is not None:
            return configured
        return 0.0 if self.known_model else None

    def request(self, messages: list[dict], stream: bool) -> dict[str, Any]:
        """The chat.completions arguments (without timeout) for these messages."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": stream}
        tokens_key = "max_completion_tokens" if self.reasoning else "max_tokens"
        body[tokens_key] = self.settings.openai_max_tokens
        temperature = self.temperature()
        if temperature is not None:
            body["temperature"] = temperature
        return body

    # -- Generator protocol -------------------------------------------------------------------
    def messages(self, question: str, passages: list[Passage], history: list[Turn] | None = None) -> list[dict]:
        return build_messages(self.prompt, question, passages, history)

    def generate(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn] | None = None,
        *,
        query: Any = None,
        query_vector: Any = None,
        deadline: float | None = None,
    ) -> Draft:
        """One answer; `deadline` (time.monotonic()) bounds every attempt and retry."""
        response = self._call(self.request(self.messages(question, passages, history), stream=False), deadline)
        try:
            text = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise self._error(exc) from exc
        if not text or not text.strip():
            raise GeneratorError(f"{self.where} returned an empty answer for model {self.model}")
        return self.parse(text)

    def stream(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn] | None = None,
        *,
        query: Any = None,
        query_vector: Any = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        """Raw model output as it arrives. Closing the iterator (or passing the deadline) ends the request."""
        response = self._call(self.request(self.messages(question, passages, history), stream=True), deadline)
        deltas: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancelled = threading.Event()
        reader = threading.Thread(target=pump, args=(response, deltas, cancelled), name="llm-stream", daemon=True)
        reader.start()
        produced = False
        try:
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    kind, item = deltas.get(timeout=wait)
                except queue.Empty:
                    raise GeneratorError(
                        f"{self.where} did not finish its answer within the time left of the request "
                        "(CITEBOT_REQUEST_TIMEOUT_S)"
                    ) from None
                if kind == "end":
                    break
                if kind == "error":
                    raise self._error(item)
                produced = True
                yield item
        finally:
            cancelled.set()
            close_quietly(response)  # cancels the HTTP request when the stream is abandoned or cut off
        if not produced:
            raise GeneratorError(f"{self.where} returned an empty answer for model {self.model}")

    def parse(self, text: str) -> Draft:
        return parse_llm_output(text, model=self.model)

    def answer_part(self, raw: str) -> str:
        return answer_part(raw)

    # -- attempts, retries, the time budget ------------------------------------------------------
    def _call(self, body: dict[str, Any], deadline: float | None) -> Any:
        return call_with_retries(
            self._client.chat.completions.create,
            body,
            timeout_s=self.settings.openai_timeout_s,
            max_retries=self._max_retries,
            deadline=deadline,
            where=self.where,
            model=self.model,
        )

    def _error(self, exc: Exception) -> GeneratorError:
        """A user-safe GeneratorError for a malformed or broken response (after the call itself)."""
        return provider_error(
            exc, self.where, self.model, timeout=self.settings.openai_timeout_s, retries=self._max_retries
        )
