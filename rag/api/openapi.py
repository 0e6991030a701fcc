"""What /docs shows: the app's title and tags, request/response/error examples (a data file,
generic, naming nothing of one corpus) and the documented responses of each route."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from rag.api.errors import ErrorBody

SSE_MEDIA_TYPE = "text/event-stream"
EXAMPLES: dict[str, Any] = json.loads(resources.files("rag.resources").joinpath("openapi_examples.json").read_text())
ASK_EXAMPLES: dict[str, Any] = EXAMPLES["ask_requests"]
ANSWER_EXAMPLE: dict[str, Any] = EXAMPLES["answer"]
SSE_EXAMPLE: str = EXAMPLES["sse"]

APP_INFO: dict[str, Any] = {
    "title": "citebot",
    "version": "0.1.0",
    "summary": "Answers questions from a collection of news articles and cites the passages it used.",
    "openapi_tags": [
        {"name": "answers", "description": "Ask a question, get an answer with citations."},
        {"name": "operations", "description": "Health, readiness, metrics."},
    ],
}


def error_example(status: int) -> dict[str, Any]:
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
    **{status: error_example(status) for status in (401, 413, 415, 422, 429, 503, 504)},
}
DOCUMENTS_RESPONSES: dict[int | str, dict[str, Any]] = {401: ASK_RESPONSES[401], 503: ASK_RESPONSES[503]}
DELETE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: ASK_RESPONSES[401],
    404: {"model": ErrorBody},
    503: ASK_RESPONSES[503],
}
