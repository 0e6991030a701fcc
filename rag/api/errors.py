"""How the HTTP API reports a failure: one JSON body (`ErrorBody`) with a machine-readable code,
a message safe to show a user, and the request id; never a stack trace or the input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import (
    CitebotError,
    ConfigError,
    GeneratorError,
    IndexMismatchError,
    IndexMissingError,
    QuestionError,
    StoreUnavailableError,
)
from rag.settings import Settings


class ErrorBody(BaseModel):
    error: str = Field(description="Machine-readable code, e.g. invalid_request, unauthorized, rate_limited.")
    message: str = Field(description="What went wrong and what to do; safe to show to a user.")
    request_id: str
    details: list[dict[str, Any]] | None = Field(None, description="Field-level validation problems (422).")


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


def status_for(exc: CitebotError) -> tuple[int, str]:
    """The HTTP status and code of a CitebotError."""
    if isinstance(exc, QuestionError):
        return 422, "invalid_request"
    if isinstance(exc, StoreUnavailableError | IndexMissingError | IndexMismatchError):
        return 503, "unavailable"
    if isinstance(exc, GeneratorError):
        return 502, "generator_failed"
    if isinstance(exc, ConfigError):
        return 500, "misconfigured"
    return 500, "internal_error"


def timeout_error(settings: Settings) -> APIError:
    return APIError(
        504,
        "timeout",
        f"no answer within {settings.request_timeout_s:g} s (CITEBOT_REQUEST_TIMEOUT_S): try again, or ask a narrower question",
    )


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": code, "message": message, "request_id": request_id}


def request_id_of(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id") or "-"


def error_response(
    request: Request, status: int, code: str, message: str, details: list | None = None, headers: dict | None = None
) -> JSONResponse:
    body: dict[str, Any] = error_body(code, message, request_id_of(request))
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
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


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = clean_validation_errors(exc.errors())
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"]) or "body"
    message = f"invalid request: {where}: {first['msg']}"
    if first.get("type") == "json_invalid":
        message = "the body is not valid JSON"
    return error_response(request, 422, "invalid_request", message, details)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = getattr(exc, "code", None) or HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else HTTP_CODES.get(exc.status_code, "error")
    if exc.status_code == 404 and not isinstance(exc, APIError):
        message = f"no route {request.method} {request.url.path}: see /docs"
    if exc.status_code == 400 and not isinstance(exc, APIError):  # FastAPI: body not decodable at all
        return error_response(request, 422, "invalid_request", "the body is not valid JSON (UTF-8)")
    if exc.status_code == 405 and not isinstance(exc, APIError):
        message = f"{request.method} is not allowed on {request.url.path}: see /docs"
    return error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _citebot(request: Request, exc: CitebotError) -> JSONResponse:
    status, code = status_for(exc)
    return error_response(request, status, code, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(CitebotError, _citebot)
