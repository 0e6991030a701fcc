"""The Slack bot: a slack-bolt AsyncApp whose listeners close over the one shared Engine.

Two ways to run it:
- HTTP mode: `mount_slack(fastapi_app, engine, settings)` adds `POST /slack/events` (Events API, slash
  commands and interactivity all go to that one URL) through Bolt's FastAPI adapter;
- Socket Mode: `citebot slack` -> `run_socket_mode(settings)`, for workspaces that cannot expose a URL.

Every request is acknowledged first and the work happens after the ack (Bolt lazy listeners, run as
asyncio tasks with `process_before_response=False`): the engine runs in a small thread pool so that
the event loop, and with it the 3-second ack, never waits for retrieval or generation.

Slack retries an event (same `event_id`, header `X-Slack-Retry-Num`) when it did not see an ack in
3 s. Bolt itself does nothing special with retries: it dispatches them like new events. This module
de-duplicates them by `event_id`, and each user message by `channel:ts` (an `app_mention` and a
`message` event for the same message carry different event ids), in in-process TTL sets.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.guards import TTLSet
from bot.verify import NoRequestBodies, SlackRequestCheck
from rag.access import RateLimiter
from rag.errors import CitebotError, ConfigError, QuestionError
from rag.feedback import FeedbackStore
from rag.schemas import Answer, Turn
from rag.settings import Settings

log = logging.getLogger("citebot.slack")

STREAM_UPDATE_INTERVAL_S = 1.0  # Slack's chat.update allows about one call per second per message
HISTORY_TURNS = 6  # the last three question/answer pairs of a thread
DM_HISTORY_WINDOW_S = 600.0  # a DM question within 10 minutes of the last answer is read as a follow-up
MAX_SLACK_RETRIES = 3
GENERIC_FAILURE = "Sorry, I could not answer this one because something went wrong on my side. Please try again."

_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def clean_question(text: str, bot_user_id: str | None) -> str:
    """Slack message text -> plain question: drop the bot's mention, unwrap links, unescape."""
    text = _USER_MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else f"@{m.group(1)}", text or "")
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def make_web_client(settings: Settings) -> AsyncWebClient:
    if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
        raise ConfigError(
            "The Slack bot needs a bot token: set SLACK_BOT_TOKEN (xoxb-…, from OAuth & Permissions of your Slack app)."
        )
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=MAX_SLACK_RETRIES),
        ],
    )


class CitebotSlack:
    """The listeners and their state (stores, de-duplication, rate limits) for one process."""

    def __init__(self, engine: Any, settings: Settings, *, socket_mode: bool = False) -> None:
        self.engine = engine
        self.settings = settings
        self.store = FeedbackStore.for_settings(settings)
        self.seen_events = TTLSet(ttl_s=3600)
        self.seen_messages = TTLSet(ttl_s=3600)
        self.limiter = RateLimiter(settings.slack_user_rate_limit_per_minute)
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="citebot-slack")
        self._bot_user_id: str | None = None
        self._bot_id: str | None = None

        signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        if not socket_mode and not signing_secret:
            raise ConfigError(
                "Slack HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials of your Slack app)."
            )
        self.client = make_web_client(settings)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "socket-mode-does-not-sign",
            process_before_response=False,
            request_verification_enabled=not socket_mode,
            logger=_bolt_logger(),
            name="citebot",
        )
        self.app._citebot = self  # type: ignore[attr-defined]  # reachable from tests and the CLI
        self._register()

    # ---------------------------------------------------------------------------- registration
    def _register(self) -> None:
        app = self.app
        app.use(self._dedupe_retries)
        app.event("app_mention")(ack=_ack, lazy=[self.on_mention])
        app.event("message")(ack=_ack, lazy=[self.on_message])
        app.event("app_home_opened")(ack=_ack, lazy=[self.on_home_opened])
        app.command("/ask")(ack=self.ack_ask, lazy=[self.on_ask])
        app.action(blocks.ACTION_FEEDBACK_UP)(ack=_ack, lazy=[self.on_feedback])
        app.action(blocks.ACTION_FEEDBACK_DOWN)(ack=_ack, lazy=[self.on_feedback])
        app.action(blocks.ACTION_SHARE)(ack=_ack, lazy=[self.on_share])
        app.error(self._on_error)

    async def _dedupe_retries(self, body: dict, next: Callable, logger: logging.Logger) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not self.seen_events.add(str(event_id)):
            log.info("slack.retry_ignored event_id=%s", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def _on_error(self, error: Exception, body: dict) -> None:
        log.error("slack.listener_error type=%s error=%s", type(error).__name__, error)

    # ---------------------------------------------------------------------------- identity
    async def _identity(self, context: Any) -> tuple[str | None, str | None]:
        bot_user_id = getattr(context, "bot_user_id", None) or self._bot_user_id
        bot_id = getattr(context, "bot_id", None) or self._bot_id
        if not bot_user_id:
            try:
                auth = await self.client.auth_test()
                self._bot_user_id, self._bot_id = auth.get("user_id"), auth.get("bot_id")
                bot_user_id, bot_id = self._bot_user_id, self._bot_id
            except SlackApiError as exc:
                log.warning("slack.auth_test_failed error=%s", exc.response.get("error"))
        else:
            self._bot_user_id, self._bot_id = bot_user_id, bot_id or self._bot_id
        return bot_user_id, bot_id

    # ---------------------------------------------------------------------------- events
    async def on_mention(self, event: dict, context: Any, client: AsyncWebClient) -> None:
        if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast"):
            return  # other bots mentioning us, edits of a mention
        bot_user_id, _ = await self._identity(context)
        channel, ts = event["channel"], event["ts"]
        in_thread = event.get("thread_ts")
        await self.answer(
            client,
            raw_question=event.get("text", ""),
            channel=channel,
            user=event.get("user", ""),
            message_ts=ts,
            reply_thread_ts=in_thread or ts,
            history_thread_ts=in_thread,
            bot_user_id=bot_user_id,
        )

    async def on_message(self, event: dict, context: Any, client: AsyncWebClient) -> None:
        # ignore edits (message_changed), deletions (message_deleted), joins, bot posts, our own posts
        if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id"):
            return
        bot_user_id, _ = await self._identity(context)
        user = event.get("user")
        if not user or user == bot_user_id:
            return
        channel, ts, thread_ts = event["channel"], event["ts"], event.get("thread_ts")
        text = event.get("text", "")
        is_dm = event.get("channel_type") == "im"
        if not is_dm:
            if not thread_ts or thread_ts == ts:
                return  # a top-level channel message without a mention is not for us
            if bot_user_id and f"<@{bot_user_id}" in text:
                return  # the app_mention event for this message answers it
            if not await asyncio.to_thread(self.store.is_bot_thread, channel, thread_ts):
                return
        await self.answer(
            client,
            raw_question=text,
            channel=channel,
            user=user,
            message_ts=ts,
            reply_thread_ts=thread_ts,
            history_thread_ts=thread_ts,
            dm_history=is_dm and thread_ts is None,
            bot_user_id=bot_user_id,
        )

    async def on_home_opened(self, event: dict, context: Any, client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        bot_user_id, _ = await self._identity(context)
        try:
            documents = await asyncio.get_running_loop().run_in_executor(self.executor, self.engine.documents)
            view = blocks.home_view(documents, bot_user_id=bot_user_id)
        except CitebotError as exc:
            view = blocks.home_view([], bot_user_id=bot_user_id, error=str(exc))
        try:
            await client.views_publish(user_id=event["user"], view=view)
        except SlackApiError as exc:
            log.warning("slack.home_publish_failed error=%s", exc.response.get("error"))

    # ---------------------------------------------------------------------------- /ask
    async def ack_ask(self, ack: Callable, command: dict) -> None:
        if not (command.get("text") or "").strip():
            await ack(
                response_type="ephemeral", text="Usage: `/ask <question>`, e.g. `/ask Who wrote the report?`"
            )
            return
        await ack(response_type="ephemeral", text=f":mag: {blocks.PLACEHOLDER_TEXT}")

    async def on_ask(self, command: dict, respond: Callable) -> None:
        raw = (command.get("text") or "").strip()
        if not raw:
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        request_id = new_request_id()
        allowed, wait_s = self.limiter.allow(user)
        if not allowed:
            await self._respond_safely(respond, blocks.rate_limited_text(self.limiter.per_minute, wait_s))
            return
        started = time.perf_counter()
        try:
            question = self.engine.validate_question(clean_question(raw, None))
            answer = await self._run_engine(question, None, request_id, on_partial=None)
            answer_id = await asyncio.to_thread(
                self.store.save_answer, question, answer, user=user, channel=channel, thread_ts=None
            )
            text, answer_blocks = blocks.answer_blocks(answer, answer_id, share=True)
            await respond(response_type="ephemeral", replace_original=True, text=text, blocks=answer_blocks)
            self._log_answer(request_id, channel, user, question, answer, started, placeholder_s=None, kind="ask")
        except Exception as exc:  # noqa: BLE001 - reported to the user as one line, logged with the request id
            message = self._failure_message(exc, request_id)
            await self._respond_safely(respond, blocks.error_text(message, request_id))

    async def _respond_safely(self, respond: Callable, text: str) -> None:
        try:
            await respond(response_type="ephemeral", replace_original=True, text=text)
        except Exception as exc:  # noqa: BLE001
            log.error("slack.respond_failed error=%s", exc)

    # ---------------------------------------------------------------------------- buttons
    async def on_feedback(self, body: dict, action: dict, respond: Callable) -> None:
        vote = "up" if action.get("action_id") == blocks.ACTION_FEEDBACK_UP else "down"
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id")
        answer_id = action.get("value", "")
        stored = await asyncio.to_thread(self.store.record_vote, answer_id, user=user, channel=channel, vote=vote)
        if stored is None:
            log.warning("slack.feedback_unknown_answer answer_id=%s", answer_id)
            text = ":warning: I no longer have that answer, so the vote was not recorded."
        else:
            log.info("slack.feedback vote=%s answer_id=%s request_id=%s", vote, answer_id, stored.request_id)
            text = (
                "Thanks! Your :thumbsup: is recorded."
                if vote == "up"
                else "Thanks! Your :thumbsdown: is recorded; the maintainers review these answers."
            )
        if body.get("response_url"):
            try:
                await respond(response_type="ephemeral", replace_original=False, text=text)
            except Exception as exc:  # noqa: BLE001
                log.warning("slack.feedback_ack_failed error=%s", exc)

    async def on_share(self, body: dict, action: dict, respond: Callable, client: AsyncWebClient) -> None:
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id")
        stored = await asyncio.to_thread(self.store.get_answer, action.get("value", ""))
        if stored is None or not channel:
            await self._respond_safely(respond, ":warning: I no longer have that answer; please ask again.")
            return
        text, answer_blocks = blocks.answer_blocks(stored.answer, stored.id, asked_by=user, question=stored.question)
        try:
            posted = await client.chat_postMessage(channel=channel, text=text, blocks=answer_blocks)
            await asyncio.to_thread(self.store.add_thread, channel, posted["ts"])
        except SlackApiError as exc:
            # e.g. not_in_channel: post through the command's response_url instead
            log.info("slack.share_via_response_url error=%s", exc.response.get("error"))
            await respond(response_type="in_channel", replace_original=False, text=text, blocks=answer_blocks)
        try:
            await respond(delete_original=True)
        except Exception as exc:  # noqa: BLE001
            log.info("slack.share_delete_original_failed error=%s", exc)

    # ---------------------------------------------------------------------------- answering
    async def answer(
        self,
        client: AsyncWebClient,
        *,
        raw_question: str,
        channel: str,
        user: str,
        message_ts: str,
        reply_thread_ts: str | None,
        history_thread_ts: str | None,
        bot_user_id: str | None,
        dm_history: bool = False,
    ) -> None:
        """Placeholder first, then the engine, then chat.update with the answer (or one error line)."""
        if not self.seen_messages.add(f"{channel}:{message_ts}"):
            return  # the same message arrived as app_mention and message, or as a retry
        started = time.perf_counter()
        request_id = new_request_id()
        allowed, wait_s = self.limiter.allow(user)
        if not allowed:
            await self._post_line(
                client, channel, reply_thread_ts, blocks.rate_limited_text(self.limiter.per_minute, wait_s), user=user
            )
            return
        question_text = clean_question(raw_question, bot_user_id)
        try:
            question = self.engine.validate_question(question_text)
        except QuestionError as exc:
            message = (
                str(exc)
                if question_text
                else "Ask me a question about the articles, e.g. “Who wrote the report?”"
            )
            await self._post_line(client, channel, reply_thread_ts, blocks.error_text(message, request_id))
            return

        try:
            placeholder = await client.chat_postMessage(
                channel=channel,
                thread_ts=reply_thread_ts,
                text=blocks.PLACEHOLDER_TEXT,
                blocks=blocks.placeholder_blocks(),
            )
        except SlackApiError as exc:
            log.error("slack.placeholder_failed request_id=%s error=%s", request_id, exc.response.get("error"))
            return
        placeholder_s = time.perf_counter() - started
        placeholder_ts = placeholder["ts"]
        if reply_thread_ts:
            await asyncio.to_thread(self.store.add_thread, channel, reply_thread_ts)

        try:
            history = await self._history(client, channel, history_thread_ts, message_ts, bot_user_id, dm_history)

            async def on_partial(text: str) -> None:
                await client.chat_update(
                    channel=channel, ts=placeholder_ts, text=text[:3000], blocks=blocks.streaming_blocks(text)
                )

            answer = await self._run_engine(question, history, request_id, on_partial=on_partial)
            answer_id = await asyncio.to_thread(
                self.store.save_answer, question, answer, user=user, channel=channel, thread_ts=reply_thread_ts
            )
            text, answer_blocks = blocks.answer_blocks(answer, answer_id)
            await client.chat_update(channel=channel, ts=placeholder_ts, text=text, blocks=answer_blocks)
            self._log_answer(
                request_id,
                channel,
                user,
                question,
                answer,
                started,
                placeholder_s,
                kind="message",
                history_turns=len(history),
            )
        except Exception as exc:  # noqa: BLE001 - reported in the thread as one line, logged with the request id
            line = blocks.error_text(self._failure_message(exc, request_id), request_id)
            try:
                await client.chat_update(channel=channel, ts=placeholder_ts, text=line, blocks=[])
            except SlackApiError as update_exc:
                log.error(
                    "slack.error_report_failed request_id=%s error=%s", request_id, update_exc.response.get("error")
                )

    def _failure_message(self, exc: Exception, request_id: str) -> str:
        if isinstance(exc, CitebotError):
            log.warning("slack.answer_failed request_id=%s type=%s error=%s", request_id, type(exc).__name__, exc)
            return str(exc)
        log.error("slack.answer_failed request_id=%s type=%s", request_id, type(exc).__name__, exc_info=exc)
        return GENERIC_FAILURE

    async def _post_line(
        self, client: AsyncWebClient, channel: str, thread_ts: str | None, text: str, *, user: str | None = None
    ) -> None:
        try:
            if user and not channel.startswith("D"):
                await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
            else:
                await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        except SlackApiError as exc:
            log.error("slack.post_failed error=%s", exc.response.get("error"))

    async def _run_engine(
        self,
        question: str,
        history: list[Turn] | None,
        request_id: str,
        on_partial: Callable[[str], Any] | None,
    ) -> Answer:
        """Run engine.ask_stream in the thread pool; forward text deltas at most once a second."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def work() -> None:
            try:
                stream = getattr(self.engine, "ask_stream", None)
                if stream is None:
                    items: Any = [self.engine.ask(question, history=history, request_id=request_id)]
                else:
                    items = stream(question, history=history, request_id=request_id)
                for item in items:
                    loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))

        future = loop.run_in_executor(self.executor, work)
        partial, answer, error = "", None, None
        last_update = time.monotonic()
        while True:
            kind, item = await queue.get()
            if kind == "end":
                break
            if kind == "error":
                error = item
            elif isinstance(item, Answer):
                answer = item
            elif isinstance(item, str):
                partial += item
                now = time.monotonic()
                if on_partial and partial.strip() and now - last_update >= STREAM_UPDATE_INTERVAL_S:
                    last_update = now
                    try:
                        await on_partial(partial)
                    except SlackApiError as exc:  # a failed progress update is not a failed answer
                        log.info("slack.partial_update_failed error=%s", exc.response.get("error"))
        await future
        if error is not None:
            raise error
        if answer is None:
            raise RuntimeError("the engine's answer stream ended without an Answer")
        return answer

    async def _history(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str | None,
        current_ts: str,
        bot_user_id: str | None,
        dm_history: bool,
    ) -> list[Turn]:
        if dm_history:
            return await asyncio.to_thread(
                self.store.recent_turns, channel, None, limit=HISTORY_TURNS // 2, since_s=DM_HISTORY_WINDOW_S
            )
        if not thread_ts:
            return []
        try:
            replies = await client.conversations_replies(channel=channel, ts=thread_ts, limit=100)
        except SlackApiError as exc:
            log.info("slack.replies_failed error=%s; using the bot's own record", exc.response.get("error"))
            return await asyncio.to_thread(self.store.recent_turns, channel, thread_ts, limit=HISTORY_TURNS // 2)
        return thread_turns(replies.get("messages") or [], current_ts, bot_user_id, self._bot_id)

    def _log_answer(
        self,
        request_id: str,
        channel: str,
        user: str,
        question: str,
        answer: Answer,
        started: float,
        placeholder_s: float | None,
        *,
        kind: str,
        history_turns: int = 0,
    ) -> None:
        parts = [
            f"slack.answer kind={kind} request_id={request_id} channel={channel} user={user}",
            f"citations={len(answer.citations)} abstained={answer.abstained} mode={answer.mode}",
            f"history_turns={history_turns} total_ms={(time.perf_counter() - started) * 1000:.0f}",
        ]
        if placeholder_s is not None:
            parts.append(f"placeholder_ms={placeholder_s * 1000:.0f}")
        if self.settings.log_questions:
            parts.append(f"question={question[:200]!r}")
        log.info(" ".join(parts))


def thread_turns(messages: list[dict], current_ts: str, bot_user_id: str | None, bot_id: str | None) -> list[Turn]:
    """conversations.replies messages (oldest first) -> the Turns before `current_ts`."""
    turns: list[Turn] = []
    try:
        current = float(current_ts)
    except ValueError:
        current = float("inf")
    for message in messages:
        try:
            if float(message.get("ts", "0")) >= current:
                continue
        except ValueError:
            continue
        if message.get("subtype") not in (None, "thread_broadcast", "bot_message"):
            continue
        text = message.get("text") or ""
        is_ours = (bot_user_id is not None and message.get("user") == bot_user_id) or (
            bot_id is not None and message.get("bot_id") == bot_id
        )
        if is_ours:
            if text.startswith((blocks.PLACEHOLDER_TEXT, ":warning:", ":hourglass", "Usage:")):
                continue
            content = clean_question(text, bot_user_id)
            role = "assistant"
        elif message.get("bot_id"):
            continue  # other bots
        else:
            content = clean_question(text, bot_user_id)
            role = "user"
        if content:
            turns.append(Turn(role=role, content=content[:8000]))  # type: ignore[arg-type]
    return turns[-HISTORY_TURNS:]


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("citebot.slack.bolt")
    if not any(isinstance(f, NoRequestBodies) for f in logger.filters):
        logger.addFilter(NoRequestBodies())
    return logger


async def _ack(ack: Callable) -> None:
    await ack()


def create_slack_app(engine: Any, settings: Settings, *, socket_mode: bool = False) -> AsyncApp:
    """The Bolt app; its listeners use `engine` (shared with the HTTP API in the same process)."""
    return CitebotSlack(engine, settings, socket_mode=socket_mode).app


def slack_configured(settings: Settings) -> bool:
    return bool(
        settings.slack_bot_token
        and settings.slack_bot_token.get_secret_value()
        and settings.slack_signing_secret
        and settings.slack_signing_secret.get_secret_value()
    )


def mount_slack(app: Any, engine: Any, settings: Settings) -> None:
    """Add `POST /slack/events` (events, slash commands, interactivity) to a FastAPI app."""
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


def run_socket_mode(settings: Settings) -> int:
    """`citebot slack`: connect to Slack over a WebSocket (no public URL needed)."""
    if not (settings.slack_app_token and settings.slack_app_token.get_secret_value()):
        raise ConfigError(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-…, Basic Information > App-Level Tokens, scope "
            "connections:write) and SLACK_BOT_TOKEN (xoxb-…)."
        )
    make_web_client(settings)  # fails early, with a clear message, when SLACK_BOT_TOKEN is missing
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from rag.engine import build_engine

    engine = build_engine(settings)
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
