"""One pure ASGI middleware for everything cross-cutting: request ids, the API key check before the
body is read, the body size limit, metrics, the access log and last-resort 500s. Cheaper than
Starlette's BaseHTTPMiddleware, and it also sees streamed responses to their end."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.access import Access, needs_key
from rag.api.errors import APIError, error_body
from rag.metrics import ServiceMetrics
from rag.schemas import Answer
from rag.settings import Settings

log = logging.getLogger("citebot.api")
access_log = logging.getLogger("citebot.access")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _read_headers(scope: Scope) -> tuple[str | None, bytes | None, str]:
    """(a valid X-Request-ID, Content-Length, Authorization) of the request."""
    request_id, content_length, authorization = None, None, None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID_RE.match(candidate):
                request_id = candidate
        elif name == b"content-length":
            content_length = value
        elif name == b"authorization" and authorization is None:  # the first one counts
            authorization = value.decode("latin-1")
    return request_id, content_length, authorization or ""


def _declares_too_much(content_length: bytes | None, max_body: int) -> bool:
    if content_length is None:
        return False
    try:
        return int(content_length) > max_body
    except ValueError:
        return False


async def send_error(
    send: Send, status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> None:
    """A complete JSON error response, written straight to the ASGI `send`."""
    body = json.dumps(error_body(code, message, request_id)).encode()
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

    def _authenticate(self, scope: Scope, authorization: str) -> APIError | None:
        """The API key check, before any of the body is read: an unauthenticated caller gets its
        401 whatever it sent (an invalid or oversized body included) and the body is never parsed."""
        access, router = self.access, self.router
        if access is None or router is None or not access.keys:
            return None
        route = self._route_needing_key(scope)
        if route is None:
            return None
        scope["route"] = route  # for the access log and metrics: the route, though the router never ran
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
                    self._route_needs_key[key] = needs_key(route)
                return route if self._route_needs_key[key] else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, content_length, authorization = _read_headers(scope)
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
            denied = self._authenticate(scope, authorization)
            if denied is not None:
                await send_error(
                    send_wrapper, denied.status_code, denied.code, str(denied.detail), request_id, denied.headers
                )
            elif _declares_too_much(content_length, max_body):
                message = f"the request body is larger than {max_body} bytes"
                await send_error(send_wrapper, 413, "payload_too_large", message, request_id)
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except Exception as exc:
            await self._failed(exc, send_wrapper, request_id, response_started)
        finally:
            self.metrics.in_flight.dec()
            if state.get("read_timeout"):  # rag.serving closed it: the body did not arrive in time
                status = 408
            self._finish(scope, state, request_id, status, time.perf_counter() - started)

    async def _failed(self, exc: Exception, send: Send, request_id: str, response_started: bool) -> None:
        if isinstance(exc, APIError) and not response_started:  # body limit hit while streaming the body in
            await send_error(send, exc.status_code, exc.code, str(exc.detail), request_id)
            return
        log.error("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
        if not response_started:
            message = f"internal error: the service logged it under request id {request_id}"
            await send_error(send, 500, "internal_error", message, request_id)

    def _finish(self, scope: Scope, state: dict, request_id: str, status: int, elapsed: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.observe_request(template, scope["method"], status, elapsed)
        self._log(scope, state, request_id, template, status, elapsed)

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


def install_middleware(app: FastAPI, settings: Settings, metrics: ServiceMetrics, access: Access) -> None:
    """CORS when origins are configured, then ServiceMiddleware around everything."""
    if settings.cors_origins:
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
        access=access,
        router=app.router,
    )
