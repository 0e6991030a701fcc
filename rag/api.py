"""The HTTP service: `create_app(settings, engine)` and `citebot serve`. The only module that imports FastAPI.

Routes stay thin: they validate, call the one Engine of the process in a worker thread with a
deadline, and turn `CitebotError`s into JSON errors. Everything cross-cutting (request ids, body
size limit, metrics, the access log, last-resort 500s) lives in one pure ASGI middleware, which is
cheaper than Starlette's BaseHTTPMiddleware and also sees streamed responses to their end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any, Literal

import anyio
from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.access import RateLimiter
from rag.errors import (
    CitebotError,
    ConfigError,
    GeneratorError,
    IndexMismatchError,
    IndexMissingError,
    QuestionError,
    StoreUnavailableError,
)
from rag.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from rag.metrics import ServiceMetrics
from rag.schemas import Answer, DocumentInfo, Turn
from rag.settings import Settings

log = logging.getLogger("citebot.api")
access_log = logging.getLogger("citebot.access")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
MAX_HISTORY_ITEMS = 50
SSE_MEDIA_TYPE = "text/event-stream"
# Request, response and error examples for /docs: a data file, generic, naming nothing of one corpus.
EXAMPLES: dict[str, Any] = json.loads(resources.files("rag.resources").joinpath("openapi_examples.json").read_text())

# -- request / response models -------------------------------------------------------------------


class HistoryTurn(Turn):
    """One earlier turn of the conversation; strict types so that `{"content": 5}` is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["user", "assistant"]
    content: StrictStr = Field(max_length=8000)


def _integral_float(value: Any) -> Any:
    """JSON has one number type: `20.0` is the integer 20 (as JSON Schema's "integer" says); `20.5` is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


TopK = Annotated[StrictInt, Field(ge=1, le=50), BeforeValidator(_integral_float)]


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [example["value"] for example in EXAMPLES["ask_requests"].values()]},
    )
    question: StrictStr = Field(
        min_length=1,
        max_length=100_000,  # the real limit (max_question_chars, on the stripped text) is checked by the engine
        description="The question, at most 2,000 characters once stripped (CITEBOT_MAX_QUESTION_CHARS).",
    )
    top_k: TopK | None = Field(None, description="Passages handed to the generator.")
    history: list[HistoryTurn] | None = Field(
        None, max_length=MAX_HISTORY_ITEMS, description="Earlier turns, oldest first (the last 6 are used)."
    )


class ErrorBody(BaseModel):
    error: str = Field(description="Machine-readable code, e.g. invalid_request, unauthorized, rate_limited.")
    message: str = Field(description="What went wrong and what to do; safe to show to a user.")
    request_id: str
    details: list[dict[str, Any]] | None = Field(None, description="Field-level validation problems (422).")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    index_reachable: bool
    model_loaded: bool
    documents: int = 0
    chunks: int = 0
    embedding_model: str | None = None
    generator: str | None = None
    index_fingerprint: str | None = None
    message: str | None = None


ASK_EXAMPLES: dict[str, Any] = EXAMPLES["ask_requests"]
ANSWER_EXAMPLE: dict[str, Any] = EXAMPLES["answer"]
SSE_EXAMPLE: str = EXAMPLES["sse"]


def _error_example(status: int) -> dict[str, Any]:
    code, message = EXAMPLES["errors"][str(status)]
    return {
        "model": ErrorBody,
        "content": {
            "application/json": {"example": {"error": code, "message": message, "request_id": "9b1deb4d3b7d4bad"}}
        },
    }


ASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer with its citations; with `Accept: text/event-stream`, a stream of "
        "`delta` events (answer text as it is produced) then one `answer` event with the full object "
        "(or one `error` event).",
        "content": {
            "application/json": {"example": ANSWER_EXAMPLE},
            SSE_MEDIA_TYPE: {"schema": {"type": "string"}, "example": SSE_EXAMPLE},
        },
    },
    401: _error_example(401),
    413: _error_example(413),
    415: _error_example(415),
    422: _error_example(422),
    429: _error_example(429),
    503: _error_example(503),
    504: _error_example(504),
}


# -- errors ----------------------------------------------------------------------------------------


class APIError(HTTPException):
    """An HTTP error with a machine-readable code; rendered as ErrorBody."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "timeout",
}


def _status_for(exc: CitebotError) -> tuple[int, str]:
    if isinstance(exc, QuestionError):
        return 422, "invalid_request"
    if isinstance(exc, StoreUnavailableError | IndexMissingError | IndexMismatchError):
        return 503, "unavailable"
    if isinstance(exc, GeneratorError):
        return 502, "generator_failed"
    if isinstance(exc, ConfigError):
        return 500, "misconfigured"
    return 500, "internal_error"


def _request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id") or "-"


def _error_response(
    request: Request, status: int, code: str, message: str, details: list | None = None, headers: dict | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message, "request_id": _request_id(request)}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Location, message and type of each problem; never the input (it may be huge or private)."""
    out = []
    for err in errors:
        loc = [part for part in err.get("loc", ()) if part != "body"]
        out.append(
            {
                "loc": [p if isinstance(p, int | str) else str(p) for p in loc],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out[:20]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _clean_validation_errors(exc.errors())
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"]) or "body"
        message = f"invalid request: {where}: {first['msg']}"
        if first.get("type") == "json_invalid":
            message = "the body is not valid JSON"
        return _error_response(request, 422, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else HTTP_CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and not isinstance(exc, APIError):
            message = f"no route {request.method} {request.url.path}: see /docs"
        if exc.status_code == 400 and not isinstance(exc, APIError):  # FastAPI: body not decodable at all
            return _error_response(request, 422, "invalid_request", "the body is not valid JSON (UTF-8)")
        if exc.status_code == 405 and not isinstance(exc, APIError):
            message = f"{request.method} is not allowed on {request.url.path}: see /docs"
        return _error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(CitebotError)
    async def _citebot(request: Request, exc: CitebotError) -> JSONResponse:
        status, code = _status_for(exc)
        return _error_response(request, status, code, str(exc))


# -- the one engine of the process -----------------------------------------------------------------


class EngineHandle:
    """The process's Engine, built at start-up; rebuilt on first use if the store was down then.

    Shared by the routes and the Slack app: attribute access is delegated to the Engine, so the
    Slack app can be mounted before the engine exists (Chroma down at start-up) and still use it.
    """

    def __init__(self, settings: Settings, engine: Any = None) -> None:
        self.settings = settings
        self._engine = engine
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def built(self) -> bool:
        return self._engine is not None

    def get(self) -> Any:
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                from rag.engine import build_engine

                try:
                    self._engine = build_engine(self.settings)
                    self.last_error = None
                except CitebotError as exc:
                    self.last_error = str(exc)
                    raise
            return self._engine

    def __getattr__(self, name: str) -> Any:  # validate_question, ask, ask_stream, documents, status
        return getattr(self.get(), name)


# -- access: API keys and rate limits --------------------------------------------------------------


class Access:
    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        self.keys = [k.get_secret_value().encode() for k in settings.api_keys if k.get_secret_value()]
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.metrics = metrics

    def principal(self, request: Request) -> str:
        """The caller: a hash of its API key when keys are configured, else its IP. Raises 401.

        ServiceMiddleware already checked the key before the body was read and left the result in
        the request's state; this is the same check for an app served without it."""
        known = request.scope.get("state", {}).get("principal")
        if known is not None:
            return known
        if not self.keys:
            client = request.client
            return f"ip:{client.host if client else 'unknown'}"
        return self.key_principal(request.headers.get("authorization", ""))

    def key_principal(self, authorization: str) -> str:
        """A hash of the bearer key in an `Authorization` header value; 401 unless it is a configured key."""
        scheme, _, token = authorization.partition(" ")
        token_bytes = token.strip().encode()
        matched = False
        for key in self.keys:  # compare with every key, in constant time, whatever matches
            matched |= hmac.compare_digest(token_bytes, key)
        if scheme.lower() != "bearer" or not token_bytes or not matched:
            raise APIError(
                401,
                "unauthorized",
                "missing or invalid API key: send `Authorization: Bearer <key>` with a key from CITEBOT_API_KEYS",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return "key:" + hashlib.sha256(token_bytes).hexdigest()[:16]

    def rate_limit(self, principal: str) -> None:
        wait = self.limiter.hit(principal)
        if wait is not None:
            self.metrics.rate_limited.inc()
            seconds = max(1, math.ceil(wait))
            raise APIError(
                429,
                "rate_limited",
                f"too many requests: the limit is {int(self.limiter.capacity)} a minute; retry after {seconds} s",
                headers={"Retry-After": str(seconds)},
            )


def _access(request: Request) -> Access:
    return request.app.state.access


async def require_key(request: Request) -> str:
    """Dependency: 401 without a valid key (when keys are configured)."""
    return _access(request).principal(request)


async def require_key_and_quota(request: Request) -> str:
    """Dependency for /ask: key, then the caller's rate limit, then a JSON body."""
    access = _access(request)
    principal = access.principal(request)
    access.rate_limit(principal)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise APIError(
            415,
            "unsupported_media_type",
            f"send the question as JSON with `Content-Type: application/json` (got {media or 'no content type'!r})",
        )
    return principal


# -- the middleware: request id, body limit, metrics, access log, last-resort 500 ------------------


class _BodyTooLarge(Exception):
    pass


def _depends_on(route: Any, calls: tuple[Any, ...]) -> bool:
    """Whether a route's dependencies (at any depth) include one of `calls`."""
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", ()))
    while pending:
        dependant = pending.pop()
        if dependant.call in calls:
            return True
        pending.extend(dependant.dependencies)
    return False


class ServiceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServiceMetrics,
        max_body_bytes: int,
        log_questions: bool,
        access: Access | None = None,
        router: Any = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.log_questions = log_questions
        self.access = access
        self.router = router
        self._route_needs_key: dict[int, bool] = {}

    def _authenticate(self, scope: Scope) -> APIError | None:
        """The API key check, before any of the body is read: an unauthenticated caller gets its
        401 whatever it sent (an invalid or oversized body included) and the body is never parsed."""
        access, router = self.access, self.router
        if access is None or router is None or not access.keys:
            return None
        route = self._route_needing_key(scope)
        if route is None:
            return None
        scope["route"] = route  # for the access log and metrics: the route, though the router never ran
        authorization = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            scope["state"]["principal"] = access.key_principal(authorization)
        except APIError as exc:
            return exc
        return None

    def _route_needing_key(self, scope: Scope) -> Any:
        """The route `scope` goes to, when that route depends on the API key check; else None."""
        for route in self.router.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                key = id(route)
                if key not in self._route_needs_key:
                    self._route_needs_key[key] = _depends_on(route, (require_key, require_key_and_quota))
                return route if self._route_needs_key[key] else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        content_length = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if REQUEST_ID_RE.match(candidate):
                    request_id = candidate
            elif name == b"content-length":
                content_length = value
        request_id = request_id or uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        rid_header = (b"x-request-id", request_id.encode())
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        received = 0
        max_body = self.max_body

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise APIError(413, "payload_too_large", f"the request body is larger than {max_body} bytes")
            return message

        self.metrics.in_flight.inc()
        try:
            too_large = False
            if content_length is not None:
                try:
                    too_large = int(content_length) > max_body
                except ValueError:
                    too_large = False
            denied = self._authenticate(scope)
            if denied is not None:
                await self._send_error(
                    send_wrapper, denied.status_code, denied.code, str(denied.detail), request_id, denied.headers
                )
            elif too_large:
                await self._send_error(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    f"the request body is larger than {max_body} bytes",
                    request_id,
                )
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except Exception as exc:
            if isinstance(exc, APIError) and not response_started:  # body limit hit while streaming the body in
                await self._send_error(send_wrapper, exc.status_code, exc.code, str(exc.detail), request_id)
            else:
                log.error("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
                if not response_started:
                    await self._send_error(
                        send_wrapper,
                        500,
                        "internal_error",
                        f"internal error: the service logged it under request id {request_id}",
                        request_id,
                    )
        finally:
            self.metrics.in_flight.dec()
            if state.get("read_timeout"):  # rag.serving closed it: the body did not arrive in time
                status = 408
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(template, scope["method"], status, elapsed)
            self._log(scope, state, request_id, template, status, elapsed)

    @staticmethod
    async def _send_error(
        send: Send, status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps({"error": code, "message": message, "request_id": request_id}).encode()
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, state: dict, request_id: str, route: str, status: int, elapsed: float) -> None:
        level = logging.ERROR if status >= 500 else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        line: dict[str, Any] = {
            "event": "request",
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "pid": os.getpid(),
        }
        answer: Answer | None = state.get("answer")
        if answer is not None:
            line.update(
                generator=answer.mode,
                degraded=answer.degraded,
                abstained=answer.abstained,
                citations=len(answer.citations),
                timings_ms=answer.timings_ms,
            )
        if "question_chars" in state:
            line["question_chars"] = state["question_chars"]
            if self.log_questions and "question" in state:
                line["question"] = state["question"][:300]
        if "error" in state:
            line["error"] = state["error"]
        access_log.log(level, json.dumps(line, ensure_ascii=False))


# -- running the engine ----------------------------------------------------------------------------


_DONE = object()


def _next_item(iterator: Iterator[Any]) -> Any:
    return next(iterator, _DONE)


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def _timeout_error(settings: Settings) -> APIError:
    return APIError(
        504,
        "timeout",
        f"no answer within {settings.request_timeout_s:g} s (CITEBOT_REQUEST_TIMEOUT_S): try again, or ask a narrower question",
    )


async def _in_thread(deadline: float, settings: Settings, func: Any, *args: Any) -> Any:
    """Run blocking engine work in the thread pool, bounded by the request's deadline."""
    remaining = _remaining(deadline)
    if remaining <= 0:
        raise _timeout_error(settings)
    try:
        with anyio.fail_after(remaining):
            return await anyio.to_thread.run_sync(func, *args, abandon_on_cancel=True)
    except TimeoutError:
        raise _timeout_error(settings) from None


# -- the app ---------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, engine: Any = None) -> FastAPI:
    """The FastAPI app. Builds the engine at start-up (lifespan) unless one is given."""
    settings = settings or Settings()
    handle = EngineHandle(settings, engine)
    metrics = ServiceMetrics(multiprocess_dir=settings.prometheus_multiproc_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not handle.built:
            try:
                await anyio.to_thread.run_sync(handle.get)
            except (StoreUnavailableError, IndexMissingError) as exc:
                log.warning("starting without an engine (will retry on the next request): %s", exc)
        log.info(
            "citebot API ready: generator=%s chroma=%s auth=%s rate_limit=%s/min",
            settings.generator.value,
            settings.chroma_mode,
            "on" if settings.api_keys else "off",
            settings.rate_limit_per_minute or "off",
        )
        yield
        metrics.close()

    app = FastAPI(
        title="citebot",
        version="0.1.0",
        summary="Answers questions from a collection of news articles and cites the passages it used.",
        lifespan=lifespan,
        docs_url=None,  # /docs, /redoc and /openapi.json are served offline by rag.web (key-guarded when keys are set)
        redoc_url=None,
        openapi_url=None,
        openapi_tags=[
            {"name": "answers", "description": "Ask a question, get an answer with citations."},
            {"name": "operations", "description": "Health, readiness, metrics."},
        ],
    )
    app.state.settings = settings
    app.state.engine = handle
    app.state.metrics = metrics
    app.state.access = Access(settings, metrics)
    _install_error_handlers(app)

    def _record(request: Request, answer: Answer) -> None:
        request.state.answer = answer
        metrics.observe_answer(answer)

    @app.post(
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
        deadline = time.monotonic() + settings.request_timeout_s
        state = request.state
        state.question_chars = len(body.question)
        state.question = body.question
        engine = handle.get() if handle.built else await _in_thread(deadline, settings, handle.get)
        question = engine.validate_question(body.question)
        history = [Turn(role=t.role, content=t.content) for t in body.history] if body.history else None
        request_id = state.request_id
        if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
            return await _stream(request, engine, question, history, body.top_k, request_id, deadline)
        try:
            answer: Answer = await _in_thread(
                deadline,
                settings,
                lambda: engine.ask(question, history=history, top_k=body.top_k, request_id=request_id),
            )
        except APIError as exc:
            if exc.status_code == 504:
                metrics.timeouts.inc()
            raise
        _record(request, answer)
        return Response(answer.model_dump_json(), media_type="application/json")

    async def _stream(
        request: Request, engine: Any, question: str, history: Any, top_k: int | None, request_id: str, deadline: float
    ) -> Response:
        iterator = engine.ask_stream(question, history=history, top_k=top_k, request_id=request_id)
        # The first item is pulled before answering, so that a store outage is a 503, not a broken stream.
        try:
            first = await _in_thread(deadline, settings, _next_item, iterator)
        except APIError as exc:
            if exc.status_code == 504:
                metrics.timeouts.inc()
            raise

        async def events() -> AsyncIterator[bytes]:
            item = first
            try:
                while item is not _DONE:
                    if isinstance(item, Answer):
                        _record(request, item)
                        yield _sse("answer", item.model_dump_json())
                    else:
                        yield _sse("delta", json.dumps({"text": item}, ensure_ascii=False))
                    item = await _in_thread(deadline, settings, _next_item, iterator)
            except APIError as exc:  # the deadline passed mid-stream
                metrics.timeouts.inc()
                request.state.error = exc.code
                yield _sse("error", json.dumps({"error": exc.code, "message": exc.detail, "request_id": request_id}))
            except CitebotError as exc:
                status, code = _status_for(exc)
                request.state.error = code
                yield _sse("error", json.dumps({"error": code, "message": str(exc), "request_id": request_id}))
            except Exception as exc:
                log.error("stream %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
                request.state.error = "internal_error"
                yield _sse(
                    "error",
                    json.dumps(
                        {
                            "error": "internal_error",
                            "message": f"internal error (request id {request_id})",
                            "request_id": request_id,
                        }
                    ),
                )

        return StreamingResponse(
            events(), media_type=SSE_MEDIA_TYPE, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    @app.get("/healthz", tags=["operations"], response_model=Health, summary="The process is alive")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Readiness,
        summary="Index reachable, model loaded, something ingested (503 otherwise)",
        responses={503: {"model": Readiness, "description": "Not ready; `message` says why and what to do."}},
    )
    async def readyz() -> JSONResponse:
        deadline = time.monotonic() + min(settings.request_timeout_s, 10.0)
        try:
            engine = await _in_thread(deadline, settings, handle.get)
            status = await _in_thread(deadline, settings, engine.status)
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

    @app.get(
        "/documents",
        tags=["answers"],
        response_model=list[DocumentInfo],
        summary="The ingested documents",
        responses={401: ASK_RESPONSES[401], 503: ASK_RESPONSES[503]},
    )
    async def documents(_principal: Annotated[str, Depends(require_key)]) -> Response:
        deadline = time.monotonic() + settings.request_timeout_s
        engine = await _in_thread(deadline, settings, handle.get)
        docs = await _in_thread(deadline, settings, engine.documents)
        return Response(
            b"[" + b",".join(d.model_dump_json().encode() for d in docs) + b"]", media_type="application/json"
        )

    @app.delete(
        "/documents/{doc_id}",
        tags=["answers"],
        summary="Remove one document from the index",
        responses={401: ASK_RESPONSES[401], 404: {"model": ErrorBody}, 503: ASK_RESPONSES[503]},
    )
    async def delete_document(doc_id: str, _principal: Annotated[str, Depends(require_key)]) -> Response:
        if not re.fullmatch(r"[0-9a-f]{16}", doc_id):
            raise APIError(404, "not_found", f"no document {doc_id[:40]!r}: ids are 16 hex digits, see GET /documents")
        deadline = time.monotonic() + settings.request_timeout_s
        engine = await _in_thread(deadline, settings, handle.get)
        removed = await _in_thread(deadline, settings, engine.delete_document, doc_id)
        if not removed:
            raise APIError(404, "not_found", f"no document {doc_id}: see GET /documents")
        return JSONResponse({"doc_id": doc_id, "chunks_removed": removed})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {METRICS_CONTENT_TYPE: {"schema": {"type": "string"}}}}},
    )
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Accept"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        log_questions=settings.log_questions,
        access=app.state.access,
        router=app.router,
    )

    _mount_slack(app, handle, settings)
    _install_web(app)
    return app


def _install_web(app: FastAPI) -> None:
    from rag.web.routes import install_web  # the page, its assets, the offline docs, /passages and /feedback

    install_web(app)


def _mount_slack(app: FastAPI, engine: Any, settings: Settings) -> None:
    token, secret = settings.slack_bot_token, settings.slack_signing_secret
    if not (token and token.get_secret_value() and secret and secret.get_secret_value()):
        return
    try:
        from bot.slack import mount_slack
    except ImportError as exc:
        log.warning("Slack is configured but bot.slack cannot be imported (%s): /slack/events is off", exc)
        return
    mount_slack(app, engine, settings)


def serve(settings: Settings, host: str | None = None, port: int | None = None, workers: int = 1) -> int:
    """`citebot serve` (kept here for callers of `rag.api.serve`; it lives in rag.serving)."""
    from rag.serving import serve as run

    return run(settings, host=host, port=port, workers=workers)
