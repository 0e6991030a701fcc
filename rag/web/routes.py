"""The web front end of `citebot serve`: `install_web(app)` adds, next to the API routes of rag.api,

- `GET /`: the chat page (plain HTML/CSS/JS in rag/web/static, no CDN, no build step);
- `GET /static/...`: its assets, and Swagger UI / ReDoc from the `fastapi-offline` package;
- `GET /docs`, `GET /redoc`: the API docs, offline; `GET /openapi.json`, behind the API key when keys are set;
- `GET /passages/{chunk_id}`: the stored text a citation quotes (the page highlights the quote in it);
- `POST /feedback`: a 👍/👎 on an answer, stored with the Slack bot's votes (rag.feedback).

The OpenAPI document declares the bearer scheme on every route that needs the key, and the error
responses of each route.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from rag.api.access import needs_key, require_key, require_key_and_quota
from rag.api.errors import APIError, ErrorBody
from rag.api.openapi import EXAMPLES
from rag.api.running import in_thread
from rag.feedback import FeedbackStore
from rag.schemas import Answer, ChunkText

STATIC_DIR = Path(__file__).parent / "static"
VENDOR_DIR = Path(fastapi_offline.__file__).parent / "static"  # swagger-ui-bundle.js, swagger-ui.css, redoc
SECURITY_SCHEME = "bearerAuth"

# No inline script anywhere; styles inline only on the docs pages (Swagger UI and ReDoc set them).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(min_length=1, max_length=8000, description="The question as it was asked.")
    answer: Answer = Field(description="The answer as `POST /ask` returned it (its `request_id` identifies it).")
    vote: Literal["up", "down"]
    client_id: StrictStr | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="A random id of the browser session: one vote per session and answer.",
    )


class FeedbackReceipt(BaseModel):
    answer_id: str
    vote: Literal["up", "down"]


def _error(status: int, description: str) -> dict[str, Any]:
    """An error response for a route's `responses=` (FastAPI adds the ErrorBody schema)."""
    return {"model": ErrorBody, **_error_response(status, description)}


def install_web(app: FastAPI) -> None:
    """Add the page, its assets, the docs and their routes to the app built by rag.api.create_app."""
    _install_redoc_script(app)  # before the mount, which would serve the file unchanged
    app.mount("/static/vendor", StaticFiles(directory=VENDOR_DIR), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_pages(app)
    _install_openapi(app)
    _install_passages(app)
    _install_feedback(app)


# -- pages -----------------------------------------------------------------------------------------


def _page(name: str, csp: str = PAGE_CSP) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name, media_type="text/html", headers={**PAGE_HEADERS, "Content-Security-Policy": csp}
    )


def _install_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return _page("index.html")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> FileResponse:
        return _page("docs.html", DOCS_CSP)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> FileResponse:
        return _page("redoc.html", DOCS_CSP)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


# ReDoc's sidebar shows a logo it loads from a CDN: point it at our own icon so no request leaves.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_script() -> bytes:
    return (VENDOR_DIR / "redoc.standalone.js").read_bytes().replace(REDOC_CDN_LOGO.encode(), b"/static/favicon.svg")


def _install_redoc_script(app: FastAPI) -> None:
    @app.get("/static/vendor/redoc.standalone.js", include_in_schema=False)
    async def redoc_script() -> Response:
        return Response(
            _redoc_script(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
        )


# -- the OpenAPI document ----------------------------------------------------------------------------


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "One of the keys in CITEBOT_API_KEYS; required only when that setting is not empty.",
    }
    guarded = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, APIRoute) and needs_key(route)
        for method in route.methods
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _document_errors(operation, guarded=(path, method) in guarded)
    app.openapi_schema = schema
    return schema


def _error_response(status: int, description: str) -> dict[str, Any]:
    code, message = EXAMPLES["errors"][str(status)]
    example = {"error": code, "message": message, "request_id": "9b1deb4d3b7d4bad"}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}, "example": example}},
    }


def _document_errors(operation: dict[str, Any], guarded: bool) -> None:
    responses = operation.setdefault("responses", {})
    if guarded:
        operation["security"] = [{SECURITY_SCHEME: []}]
        responses.setdefault("401", _error_response(401, "Keys are configured and the bearer key is missing or wrong."))
        responses.setdefault("503", _error_response(503, "The index is unreachable or empty; retry later."))
    if "requestBody" in operation:
        responses.setdefault("413", _error_response(413, "The body is larger than CITEBOT_MAX_BODY_BYTES."))
        responses.setdefault("422", _error_response(422, "The body is not valid JSON or breaks the schema."))
    responses.setdefault("500", _error_response(500, "An unexpected error; the log has it under the request id."))


def _install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: _openapi_document(app)  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_principal: Annotated[str, Depends(require_key)]) -> JSONResponse:
        return JSONResponse(app.openapi())


# -- passages and feedback ---------------------------------------------------------------------------


def _install_passages(app: FastAPI) -> None:
    @app.get(
        "/passages/{chunk_id}",
        tags=["answers"],
        response_model=ChunkText,
        summary="The stored passage a citation points to",
        description="The full text of the chunk with this `chunk_id` (as in `citations[].chunk_id`): "
        "the citation's `quote` is a verbatim part of it.",
        responses={404: _error(404, "No passage with this id (re-ingested or deleted).")},
    )
    async def passage(
        request: Request,
        chunk_id: Annotated[str, PathParam(min_length=1, max_length=512)],
        _principal: Annotated[str, Depends(require_key)],
    ) -> Response:
        found = await _engine_call(request, "chunks", [chunk_id])
        if not found:
            raise APIError(404, "not_found", f"no passage {chunk_id!r}: it may have been re-ingested; ask again")
        return Response(found[0].model_dump_json(), media_type="application/json")


def _install_feedback(app: FastAPI) -> None:
    store: FeedbackStore | None = None

    @app.post(
        "/feedback",
        tags=["answers"],
        response_model=FeedbackReceipt,
        summary="👍/👎 on an answer",
        description="Stores a vote on an answer `POST /ask` gave, with the Slack bot's votes; "
        "`citebot feedback export` writes the 👎 ones as evaluation cases. Voting again changes the vote.",
        responses={
            415: _error(415, "The body is not JSON."),
            429: _error(429, "Over the caller's rate limit (shared with /ask)."),
        },
    )
    async def feedback(
        request: Request, body: FeedbackRequest, principal: Annotated[str, Depends(require_key_and_quota)]
    ) -> FeedbackReceipt:
        nonlocal store
        if not body.answer.request_id:
            raise APIError(
                422, "invalid_request", "invalid request: answer.request_id: send the answer as /ask gave it"
            )
        await _check_quotes(request, body.answer)
        if store is None:
            store = FeedbackStore.for_settings(request.app.state.settings)
        user = f"web:{principal}" + (f":{body.client_id}" if body.client_id else "")
        record = await in_thread(
            _deadline(request),
            request.app.state.settings,
            lambda: store.record_web_vote(body.question, body.answer, user=user, vote=body.vote),
        )
        return FeedbackReceipt(answer_id=record.answer_id, vote=body.vote)


def _squash(text: str) -> str:
    return " ".join(text.split())


async def _check_quotes(request: Request, answer: Answer) -> None:
    """A vote is kept only on an answer whose citations quote the stored passages (no made-up answers)."""
    if not answer.citations:
        return
    chunks = await _engine_call(request, "chunks", [c.chunk_id for c in answer.citations])
    texts = {chunk.chunk_id: _squash(chunk.text) for chunk in chunks}
    for citation in answer.citations:
        if _squash(citation.quote) not in texts.get(citation.chunk_id, ""):
            raise APIError(
                422,
                "invalid_request",
                f"citation [{citation.n}] does not quote a stored passage (re-ingested since?): ask again, then vote",
            )


def _deadline(request: Request) -> float:
    return time.monotonic() + request.app.state.settings.request_timeout_s


async def _engine_call(request: Request, name: str, *args: Any) -> Any:
    settings = request.app.state.settings
    handle = request.app.state.engine
    deadline = _deadline(request)
    engine = await in_thread(deadline, settings, handle.get)
    return await in_thread(deadline, settings, getattr(engine, name), *args)
