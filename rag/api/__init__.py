"""The HTTP API (the only package that imports FastAPI, with rag.web):

app.py        create_app(settings, engine): wiring only
routes.py     /ask (JSON or server-sent events), /healthz, /readyz, /documents, /metrics
access.py     API keys and the caller's rate limit (the one rate limiter, rag.access)
middleware.py request ids, key check before the body, body limit, metrics, access log, last-resort 500
errors.py     ErrorBody, APIError and the map from CitebotError to HTTP
openapi.py    examples and documented responses;  models.py  request/response models
running.py    engine work in the thread pool under the request's deadline; SSE

The composition root that builds the engine and mounts Slack is rag.service (`build_app`).
"""

from rag.api.access import Access, require_key, require_key_and_quota
from rag.api.app import create_app
from rag.api.errors import APIError, ErrorBody
from rag.api.models import AskRequest, HistoryTurn, Readiness
from rag.api.openapi import EXAMPLES
from rag.api.running import in_thread

__all__ = [
    "EXAMPLES",
    "APIError",
    "Access",
    "AskRequest",
    "ErrorBody",
    "HistoryTurn",
    "Readiness",
    "create_app",
    "in_thread",
    "require_key",
    "require_key_and_quota",
]
