"""The bridge from the async Slack listeners to the blocking engine: the engine's answer stream runs
in a small thread pool, so the event loop (and with it the 3-second ack) never waits for retrieval
or generation; text deltas come back to the loop and are forwarded at most once a second."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk.errors import SlackApiError

from rag.schemas import Answer, Turn

log = logging.getLogger("citebot.slack")

STREAM_UPDATE_INTERVAL_S = 1.0  # Slack's chat.update allows about one call per second per message


class EngineBridge:
    def __init__(self, engine: Any, max_workers: int = 4) -> None:
        self.engine = engine  # an Engine, or the EngineHandle shared with the HTTP API
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="citebot-slack")

    async def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Any other blocking engine call (e.g. `engine.documents`), in the same pool."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def answer(
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
                for item in self.engine.ask_stream(question, history=history, request_id=request_id):
                    loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))

        future = loop.run_in_executor(self.executor, work)
        answer, error = await _consume(queue, on_partial)
        await future
        if error is not None:
            raise error
        if answer is None:
            raise RuntimeError("the engine's answer stream ended without an Answer")
        return answer


async def _consume(
    queue: asyncio.Queue[tuple[str, Any]], on_partial: Callable[[str], Any] | None
) -> tuple[Answer | None, BaseException | None]:
    partial, answer, error = "", None, None
    last_update = time.monotonic()
    while True:
        kind, item = await queue.get()
        if kind == "end":
            return answer, error
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
