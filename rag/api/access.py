"""Who may call the HTTP API: bearer API keys (CITEBOT_API_KEYS) and the caller's rate limit, with
the project's one rate limiter (rag.access.RateLimiter, which the Slack bot uses too)."""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from fastapi import Request

from rag.access import RateLimiter
from rag.api.errors import APIError
from rag.metrics import ServiceMetrics
from rag.settings import Settings


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


GUARDS = (require_key, require_key_and_quota)  # the dependencies that make a route need the key


def needs_key(route: Any) -> bool:
    """Whether a route's dependencies (at any depth) include a key check."""
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", ()))
    while pending:
        dependant = pending.pop()
        if dependant.call in GUARDS:
            return True
        pending.extend(dependant.dependencies)
    return False
