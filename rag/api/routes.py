"""The API's routes. Thin: validate, call the process's one engine in a worker thread with a
deadline, and let rag.api.errors turn failures into JSON errors."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rag.api.access import require_key, require_key_and_quota
from rag.api.errors import APIError
from rag.api.models import AskRequest, Health, Readiness
from rag.api.openapi import ASK_EXAMPLES, ASK_RESPONSES, DELETE_RESPONSES, DOCUMENTS_RESPONSES, SSE_MEDIA_TYPE
from rag.api.running import counting_timeouts, in_thread, next_item, sse_events
from rag.engine_handle import EngineHandle
from rag.errors import CitebotError
from rag.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from rag.metrics import ServiceMetrics
from rag.schemas import Answer, DocumentInfo, Turn
from rag.settings import Settings

DOC_ID_RE = re.compile(r"[0-9a-f]{16}")


_ROUTES: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = []


def _route(method: str, path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route here; `install_routes` adds them to an app (in this order)."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        _ROUTES.append((method, path, endpoint, options))
        return endpoint

    return register


def install_routes(app: FastAPI) -> None:
    for method, path, endpoint, options in _ROUTES:
        app.add_api_route(path, endpoint, methods=[method], **options)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _handle(request: Request) -> EngineHandle:
    return request.app.state.engine


def _metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


def _deadline(request: Request, at_most: float | None = None) -> float:
    timeout = _settings(request).request_timeout_s
    return time.monotonic() + (min(timeout, at_most) if at_most else timeout)


def _record(request: Request, answer: Answer) -> None:
    request.state.answer = answer
    _metrics(request).observe_answer(answer)


@_route(
    "POST",
    "/ask",
    tags=["answers"],
    response_model=Answer,
    responses=ASK_RESPONSES,
    summary="Ask a question about the articles",
    description="Returns the answer with numbered citations (verbatim quotes) and every retrieved source. "
    "Send `Accept: text/event-stream` to stream it as server-sent events.",
)
async def ask(
    request: Request,
    body: Annotated[AskRequest, Body(openapi_examples=ASK_EXAMPLES)],
    _principal: Annotated[str, Depends(require_key_and_quota)],
) -> Response:
    settings, handle, deadline = _settings(request), _handle(request), _deadline(request)
    state = request.state
    state.question_chars = len(body.question)
    state.question = body.question
    engine = handle.get() if handle.built else await in_thread(deadline, settings, handle.get)
    question = engine.validate_question(body.question)
    history, request_id = body.turns(), state.request_id
    if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return await _stream(request, engine, question, history, body.top_k, deadline)

    def work() -> Answer:
        return engine.ask(question, history=history, top_k=body.top_k, request_id=request_id)

    answer: Answer = await counting_timeouts(_metrics(request), in_thread(deadline, settings, work))
    _record(request, answer)
    return Response(answer.model_dump_json(), media_type="application/json")


async def _stream(
    request: Request, engine, question: str, history: list[Turn] | None, top_k: int | None, deadline: float
) -> Response:
    settings, metrics, request_id = _settings(request), _metrics(request), request.state.request_id
    iterator = engine.ask_stream(question, history=history, top_k=top_k, request_id=request_id)
    # The first item is pulled before answering, so that a store outage is a 503, not a broken stream.
    first = await counting_timeouts(metrics, in_thread(deadline, settings, next_item, iterator))

    def on_error(code: str) -> None:
        request.state.error = code

    events = sse_events(
        first,
        lambda: in_thread(deadline, settings, next_item, iterator),
        lambda answer: _record(request, answer),
        on_error,
        metrics,
        request_id,
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=headers)


@_route("GET", "/healthz", tags=["operations"], response_model=Health, summary="The process is alive")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@_route(
    "GET",
    "/readyz",
    tags=["operations"],
    response_model=Readiness,
    summary="Index reachable, model loaded, something ingested (503 otherwise)",
    responses={503: {"model": Readiness, "description": "Not ready; `message` says why and what to do."}},
)
async def readyz(request: Request) -> JSONResponse:
    settings, handle, deadline = _settings(request), _handle(request), _deadline(request, at_most=10.0)
    try:
        engine = await in_thread(deadline, settings, handle.get)
        status = await in_thread(deadline, settings, engine.status)
    except (CitebotError, APIError) as exc:
        message = exc.detail if isinstance(exc, APIError) else str(exc)
        body = Readiness(ready=False, index_reachable=False, model_loaded=handle.built, message=message)
        return JSONResponse(body.model_dump(), status_code=503)
    ready = bool(status.get("ready"))
    body = Readiness(
        ready=ready,
        index_reachable=True,
        model_loaded=True,
        documents=int(status.get("documents", 0)),
        chunks=int(status.get("chunks", 0)),
        embedding_model=status.get("embedding_model"),
        generator=status.get("generator"),
        index_fingerprint=status.get("index_fingerprint"),
        message=None if ready else "nothing is indexed yet: run `citebot ingest seeds/`",
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@_route(
    "GET",
    "/documents",
    tags=["answers"],
    response_model=list[DocumentInfo],
    summary="The ingested documents",
    responses=DOCUMENTS_RESPONSES,
)
async def documents(request: Request, _principal: Annotated[str, Depends(require_key)]) -> Response:
    settings, deadline = _settings(request), _deadline(request)
    engine = await in_thread(deadline, settings, _handle(request).get)
    docs = await in_thread(deadline, settings, engine.documents)
    return Response(b"[" + b",".join(d.model_dump_json().encode() for d in docs) + b"]", media_type="application/json")


@_route(
    "DELETE",
    "/documents/{doc_id}",
    tags=["answers"],
    summary="Remove one document from the index",
    responses=DELETE_RESPONSES,
)
async def delete_document(request: Request, doc_id: str, _principal: Annotated[str, Depends(require_key)]) -> Response:
    if not DOC_ID_RE.fullmatch(doc_id):
        raise APIError(404, "not_found", f"no document {doc_id[:40]!r}: ids are 16 hex digits, see GET /documents")
    settings, deadline = _settings(request), _deadline(request)
    engine = await in_thread(deadline, settings, _handle(request).get)
    removed = await in_thread(deadline, settings, engine.delete_document, doc_id)
    if not removed:
        raise APIError(404, "not_found", f"no document {doc_id}: see GET /documents")
    return JSONResponse({"doc_id": doc_id, "chunks_removed": removed})


@_route(
    "GET",
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {METRICS_CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def metrics_endpoint(request: Request) -> Response:
    return Response(_metrics(request).render(), media_type=METRICS_CONTENT_TYPE)
