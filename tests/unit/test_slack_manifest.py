"""bot/manifest.yml asks for what the bot uses: its events, the /ask command, interactivity, scopes."""

from __future__ import annotations

from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "bot" / "manifest.yml"


def test_manifest_covers_the_bots_listeners():
    doc = yaml.safe_load(MANIFEST.read_text())
    settings = doc["settings"]
    events = set(settings["event_subscriptions"]["bot_events"])
    assert {"app_mention", "app_home_opened", "message.channels", "message.groups", "message.im"} <= events
    assert settings["interactivity"]["is_enabled"] is True
    urls = {settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]}
    urls |= {c["url"] for c in doc["features"]["slash_commands"]}
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert [c["command"] for c in doc["features"]["slash_commands"]] == ["/ask"]
    scopes = set(doc["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "channels:history", "groups:history", "im:history"} <= scopes
    assert doc["features"]["app_home"]["home_tab_enabled"] is True
