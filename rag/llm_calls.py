"""Calls to an OpenAI(-compatible) server: attempts bounded by the request's time budget, retries
with backoff (honouring Retry-After), a stream read on a helper thread, and every failure mapped to a
user-safe GeneratorError that names the provider and what to do (never the key or provider text)."""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from rag.errors import GeneratorError

log = logging.getLogger("rag.llm")

MIN_ATTEMPT_S = 0.2  # an attempt with less time than this left is not started
MAX_RETRY_AFTER_S = 60.0


def call_with_retries(
    create: Callable[..., Any],
    body: dict[str, Any],
    *,
    timeout_s: float,
    max_retries: int,
    deadline: float | None,
    where: str,
    model: str,
) -> Any:
    """`create(**body, timeout=...)`, retried while worth it and while the deadline allows."""
    attempt = 0
    while True:
        timeout = timeout_s
        if deadline is not None:
            timeout = min(timeout, deadline - time.monotonic())
            if timeout < MIN_ATTEMPT_S:
                raise GeneratorError(
                    f"no time left for {where} within the request's time budget (CITEBOT_REQUEST_TIMEOUT_S)"
                )
        try:
            return create(**body, timeout=timeout)
        except Exception as exc:
            delay = retry_delay(exc, attempt)
            out_of_time = (
                deadline is not None and delay is not None and time.monotonic() + delay + MIN_ATTEMPT_S > deadline
            )
            if delay is None or attempt >= max_retries or out_of_time:
                raise provider_error(exc, where, model, timeout=timeout, retries=attempt) from exc
            log.info(
                "llm_retry provider=%s attempt=%d delay=%.2fs error=%s", where, attempt + 1, delay, type(exc).__name__
            )
            time.sleep(delay)
            attempt += 1


def provider_error(exc: Exception, where: str, model: str, *, timeout: float, retries: int) -> GeneratorError:
    """A user-safe GeneratorError: what failed and what to do; never the key or provider text."""
    import httpx
    import openai

    tries = "no retries" if retries == 0 else f"after {retries} retr{'y' if retries == 1 else 'ies'}"
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        message = (
            f"{where} did not answer within {timeout:.3g}s ({tries}): "
            "check the server or raise CITEBOT_OPENAI_TIMEOUT_S"
        )
    elif isinstance(exc, StreamCutOff | httpx.RemoteProtocolError | httpx.ReadError):
        message = f"{where} cut its answer off mid-stream (the connection closed before the model finished)"
    elif isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        message = f"{where} is not reachable ({tries}): start it or fix OPENAI_BASE_URL"
    elif isinstance(exc, openai.RateLimitError):
        message = f"{where} is rate limiting requests (HTTP 429, {tries}): wait, or raise your quota"
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        message = f"{where} rejected the API key (HTTP {exc.status_code}): check OPENAI_API_KEY"
    elif isinstance(exc, openai.NotFoundError):
        message = f"{where} does not serve model {model!r} (HTTP 404): set CITEBOT_OPENAI_MODEL"
    elif isinstance(exc, openai.BadRequestError):
        message = (
            f"{where} refused the request (HTTP 400) for model {model}: a local server may "
            "need a larger context (llama.cpp: --n_ctx 4096) or a smaller CITEBOT_TOP_K"
        )
    elif isinstance(exc, openai.APIStatusError):
        message = f"{where} failed with HTTP {exc.status_code} ({tries if exc.status_code >= 500 else 'not retried'})"
    elif isinstance(
        exc,
        json.JSONDecodeError | ValueError | openai.APIResponseValidationError | AttributeError | IndexError | TypeError,
    ):
        message = f"{where} returned a malformed response (not the OpenAI JSON format) for model {model}"
    else:
        message = f"{where} failed unexpectedly ({type(exc).__name__})"
    log.warning("llm_error provider=%s model=%s error=%s", where, model, type(exc).__name__)
    return GeneratorError(message)


class StreamCutOff(Exception):
    """A streamed answer ended without a finish_reason (the connection closed mid-answer)."""


def pump(response: Any, out: queue.Queue, cancelled: threading.Event) -> None:
    """Read a streamed completion into `out` (so the reader of `out` can stop waiting at a deadline)."""
    finished = False
    try:
        for chunk in response:
            if cancelled.is_set():
                return
            choice = chunk.choices[0] if chunk.choices else None
            finished = finished or bool(choice and choice.finish_reason)
            delta = choice.delta.content if choice and choice.delta else None
            if delta:
                out.put(("delta", delta))
        if not finished:  # the connection ended before the model said it was done: a cut-off answer
            raise StreamCutOff()
        out.put(("end", None))
    except Exception as exc:  # noqa: BLE001 - handed to the consuming thread, which maps it
        if not cancelled.is_set():
            out.put(("error", exc))


def close_quietly(response: Any) -> None:
    try:
        response.close()
    except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail; nothing is lost
        log.debug("llm_stream_close_failed error=%s", type(exc).__name__)


def retry_delay(exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before retrying `exc` (None: not worth retrying). Honours Retry-After."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        headers = exc.response.headers
        if headers.get("x-should-retry") == "false":
            return None
        if exc.status_code not in (408, 409, 429) and exc.status_code < 500 and headers.get("x-should-retry") != "true":
            return None
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            try:
                given = float(headers.get(name, "")) * scale
            except ValueError:
                continue
            if 0 <= given <= MAX_RETRY_AFTER_S:
                return given
    elif not isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return None
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())
