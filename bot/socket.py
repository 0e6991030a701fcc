"""Slack over Socket Mode (`citebot slack`): a WebSocket to Slack, for workspaces that cannot
expose a URL. The engine comes from the composition root (rag.service.run_slack_socket_mode)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.client import make_web_client
from bot.slack import create_slack_app
from rag.errors import ConfigError
from rag.settings import Settings

log = logging.getLogger("citebot.slack")


def check_socket_settings(settings: Settings) -> None:
    """Fail early, with a clear message, when a token Socket Mode needs is missing."""
    if not (settings.slack_app_token and settings.slack_app_token.get_secret_value()):
        raise ConfigError(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-…, Basic Information > App-Level Tokens, scope "
            "connections:write) and SLACK_BOT_TOKEN (xoxb-…)."
        )
    make_web_client(settings)  # raises when SLACK_BOT_TOKEN is missing


def run_socket_mode(engine: Any, settings: Settings) -> int:
    """Connect to Slack over a WebSocket and answer until interrupted."""
    check_socket_settings(settings)
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    app_token = settings.slack_app_token.get_secret_value()

    async def main() -> None:
        bolt_app = create_slack_app(engine, settings, socket_mode=True)
        handler = AsyncSocketModeHandler(bolt_app, app_token)
        try:
            auth = await bolt_app.client.auth_test()
            log.info("slack.socket_mode connecting as @%s (team %s)", auth.get("user"), auth.get("team"))
        except SlackApiError as exc:
            raise ConfigError(
                f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')}): copy the Bot User OAuth Token again."
            ) from exc
        await handler.start_async()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    return 0
