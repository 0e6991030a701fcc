"""Slack over HTTP: `POST /slack/events` (Events API, slash commands and interactivity all go to that
one URL) on the service's FastAPI app, through Bolt's FastAPI adapter, after our own signature and
replay check."""

from __future__ import annotations

import logging
from typing import Any

from bot.slack import create_slack_app
from bot.verify import SlackRequestCheck
from rag.settings import Settings

log = logging.getLogger("citebot.slack")


def mount_slack(app: Any, engine: Any, settings: Settings) -> None:
    """Add `POST /slack/events` to a FastAPI app; its listeners use `engine` (shared with the API)."""
    from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    bolt_app = create_slack_app(engine, settings)
    handler = AsyncSlackRequestHandler(bolt_app)
    checker = SlackRequestCheck(
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )

    async def slack_events(request: Request) -> Response:
        rejection = checker.check(await request.body(), request.headers)  # Bolt reads the cached body again
        if rejection is not None:
            log.info("slack.request_rejected status=%s reason=%s", rejection.status, rejection.code)
            request_id = request.scope.get("state", {}).get("request_id", "-")
            return JSONResponse(
                {"error": rejection.code, "message": rejection.message, "request_id": request_id},
                status_code=rejection.status,
            )
        return await handler.handle(request)

    # this module uses postponed annotations; give FastAPI the real classes of the local imports
    slack_events.__annotations__ = {"request": Request, "return": Response}

    app.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)
    app.state.slack_app = bolt_app
