"""Running blocking engine work from the async routes: in the thread pool, bounded by the request's
deadline (504 past it), and an engine's answer stream as server-sent events."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio

from rag.api.errors import APIError, error_body, status_for, timeout_error
from rag.errors import CitebotError
from rag.metrics import ServiceMetrics
from rag.schemas import Answer
from rag.settings import Settings

log = logging.getLogger("citebot.api")

DONE = object()


def next_item(iterator: Iterator[Any]) -> Any:
    return next(iterator, DONE)


def sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


async def in_thread(deadline: float, settings: Settings, func: Any, *args: Any) -> Any:
    """Run blocking engine work in the thread pool, bounded by the request's deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise timeout_error(settings)
    try:
        with anyio.fail_after(remaining):
            return await anyio.to_thread.run_sync(func, *args, abandon_on_cancel=True)
    except TimeoutError:
        raise timeout_error(settings) from None


async def counting_timeouts(metrics: ServiceMetrics, work: Any) -> Any:
    """Await `work`; a 504 is counted in the metrics before it propagates."""
    try:
        return await work
    except APIError as exc:
        if exc.status_code == 504:
            metrics.timeouts.inc()
        raise


async def sse_events(
    first: Any,
    pull: Callable[[], Any],
    on_answer: Callable[[Answer], None],
    on_error: Callable[[str], None],
    metrics: ServiceMetrics,
    request_id: str,
) -> AsyncIterator[bytes]:
    """`delta` events, then the `answer` event; one `error` event if the stream fails on the way."""
    item = first
    try:
        while item is not DONE:
            if isinstance(item, Answer):
                on_answer(item)
                yield sse("answer", item.model_dump_json())
            else:
                yield sse("delta", json.dumps({"text": item}, ensure_ascii=False))
            item = await pull()
    except APIError as exc:  # the deadline passed mid-stream
        metrics.timeouts.inc()
        on_error(exc.code)
        yield sse("error", json.dumps(error_body(exc.code, exc.detail, request_id)))
    except CitebotError as exc:
        _, code = status_for(exc)
        on_error(code)
        yield sse("error", json.dumps(error_body(code, str(exc), request_id)))
    except Exception as exc:
        log.error("stream %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
        on_error("internal_error")
        message = f"internal error (request id {request_id})"
        yield sse("error", json.dumps(error_body("internal_error", message, request_id)))
