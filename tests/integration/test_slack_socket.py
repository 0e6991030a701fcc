"""`citebot slack` (Socket Mode) as a real process: the CLI builds the engine over a copy of the seeded
index, opens the WebSocket that tests/support/slack_api.py serves (as Slack's apps.connections.open
would), acks each envelope and answers through the Web API."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import blocks
from tests.support.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, FakeSlack, event_envelope

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def fake_slack():
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def socket_bot(seeded_dir, fake_slack, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "SLACK_", "OPENAI_"))}
    env.update(
        CITEBOT_DATA_DIR=str(data_dir),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        CITEBOT_SLACK_API_URL=fake_slack.api_url,
        ANONYMIZED_TELEMETRY="False",
    )
    log = (tmp_path / "bot.log").open("wb")
    proc = subprocess.Popen(
        [str(VENV_BIN / "citebot"), "slack"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _envelope(envelope_id: str, payload: dict, retry: int = 0) -> dict:
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
        "payload": payload,
    }


def test_socket_mode_answers_in_thread_and_acks_each_envelope_once(socket_bot, fake_slack, engine):
    fake_slack.wait_socket_connected(timeout=120)
    assert fake_slack.calls_to("apps.connections.open")[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
    ts = fake_slack.next_ts()
    question = "Which airport was the Karachi attack near?"
    payload = event_envelope(
        {
            "type": "app_mention",
            "user": "USOCKET01",
            "text": f"<@{BOT_USER_ID}> {question}",
            "ts": ts,
            "channel": "CSOCKET01",
            "event_ts": ts,
        }
    )
    fake_slack.send_socket(_envelope("env-1", payload))
    fake_slack.wait_for(
        lambda _: any(a.get("envelope_id") == "env-1" for a in fake_slack.socket_acks), 30, what="socket ack of env-1"
    )
    placeholder = fake_slack.wait_call("chat.postMessage", channel="CSOCKET01", thread_ts=ts)
    assert placeholder.args["text"] == blocks.PLACEHOLDER_TEXT
    update = fake_slack.wait_for(
        lambda calls: next(
            (
                c
                for c in calls
                if c.method == "chat.update"
                and c.args.get("ts") == placeholder.response["ts"]
                and any(b.get("type") == "actions" for b in c.blocks())
            ),
            None,
        ),
        60,
        what="answer",
    )
    assert update.args["text"] == engine.ask(question).answer

    # Slack's retry of the same event over the socket: acked, not answered again
    fake_slack.send_socket(_envelope("env-2", payload, retry=1))
    fake_slack.wait_for(
        lambda _: any(a.get("envelope_id") == "env-2" for a in fake_slack.socket_acks), 30, what="socket ack of env-2"
    )
    time.sleep(1.0)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    socket_bot.send_signal(signal.SIGINT)
    assert socket_bot.wait(20) == 0


def test_socket_mode_without_app_token_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "SLACK_", "OPENAI_"))}
    env.update(CITEBOT_DATA_DIR=str(tmp_path), SLACK_BOT_TOKEN=BOT_TOKEN)
    proc = subprocess.run(
        [str(VENV_BIN / "citebot"), "slack"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 1
    assert "SLACK_APP_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
