"""A client of a running `citebot serve`: `citebot ask` with CITEBOT_URL set.

Standard library only (urllib), so that a question costs a process start and one HTTP round trip:
no model, no index, no chromadb import. It has the Engine's `ask` signature and raises the same
errors (QuestionError for a bad question, CitebotError for everything else), so the CLI treats both alike.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from rag.errors import CitebotError, QuestionError
from rag.schemas import Answer
from rag.settings import Settings

EXTRA_TIMEOUT_S = 5.0  # on top of the server's own request timeout, so that its 504 arrives first


class ServiceClient:
    def __init__(self, settings: Settings) -> None:
        if not settings.url:
            raise CitebotError("CITEBOT_URL is not set")
        self.url = settings.url
        self._timeout = settings.request_timeout_s + EXTRA_TIMEOUT_S
        key = settings.api_key or (settings.api_keys[0] if settings.api_keys else None)
        self._key = key.get_secret_value() if key else ""

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        body: dict = {"question": question}
        if top_k is not None:
            body["top_k"] = top_k
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(
            f"{self.url}/ask", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, unknown host, timed out
            reason = getattr(exc, "reason", exc)
            raise CitebotError(
                f"the citebot service at {self.url} is not reachable ({reason}): start it with `citebot serve` "
                "or unset CITEBOT_URL to answer in this process"
            ) from None
        try:
            return Answer.model_validate_json(payload)
        except ValueError:
            raise CitebotError(f"{self.url}/ask did not answer with a citebot answer: is CITEBOT_URL right?") from None

    def _http_error(self, exc: urllib.error.HTTPError) -> CitebotError:
        try:
            message = str(json.loads(exc.read() or b"{}").get("message") or "")
        except (ValueError, AttributeError, OSError):
            message = ""
        message = message or f"HTTP {exc.code} {exc.reason}"
        if exc.code == 401:
            return CitebotError(f"{self.url} refused the API key ({message}): set CITEBOT_API_KEY to one of its keys")
        if exc.code in (400, 413, 422):
            return QuestionError(message)
        return CitebotError(f"the citebot service at {self.url} failed: {message}")
