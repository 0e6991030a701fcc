"""rag.settings: environment (CITEBOT_* and standard names), comma lists, masking, `citebot config`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import EmbeddingKind, GeneratorKind, Settings

CITEBOT = Path(sys.executable).parent / "citebot"
SECRETS = {
    "OPENAI_API_KEY": "sk-test-SECRET-openai-0123456789",
    "CITEBOT_API_KEYS": "key-SECRET-one, key-SECRET-two,,",
    "SLACK_BOT_TOKEN": "xoxb-SECRET-bot-token",
    "SLACK_SIGNING_SECRET": "SECRET-signing-abcdef",
    "SLACK_APP_TOKEN": "xapp-SECRET-app-token",
}


def test_defaults_without_environment(tmp_path: Path) -> None:
    s = Settings(_env_file=None)
    assert s.generator is GeneratorKind.extractive and s.embedding is EmbeddingKind.minilm
    assert s.chroma_host is None and s.chroma_mode == "embedded"
    assert s.openai_api_key is None and s.api_keys == []
    assert s.max_question_chars == 2000
    assert s.chroma_dir == s.data_dir / "chroma"


def test_citebot_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("CITEBOT_TOP_K", "9")
    monkeypatch.setenv("CITEBOT_GENERATOR", "openai")
    monkeypatch.setenv("CITEBOT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CITEBOT_CHROMA_PORT", "8123")
    monkeypatch.setenv("CITEBOT_CORS_ORIGINS", "http://a.example, http://b.example")
    s = Settings(_env_file=None)
    assert s.data_dir == tmp_path / "d"
    assert s.top_k == 9
    assert s.generator is GeneratorKind.openai
    assert (s.chroma_host, s.chroma_port, s.chroma_mode) == ("127.0.0.1", 8123, "server")
    assert s.cors_origins == ["http://a.example", "http://b.example"]


def test_standard_and_prefixed_secret_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-plain")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-plain")
    s = Settings(_env_file=None)
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-plain"
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-plain"
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("CITEBOT_OPENAI_API_KEY", "sk-prefixed")
    assert Settings(_env_file=None).openai_api_key.get_secret_value() == "sk-prefixed"


def test_api_keys_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEBOT_API_KEYS", " alpha , beta,,gamma ,")
    s = Settings(_env_file=None)
    assert [k.get_secret_value() for k in s.api_keys] == ["alpha", "beta", "gamma"]
    monkeypatch.setenv("CITEBOT_API_KEYS", "")
    assert Settings(_env_file=None).api_keys == []


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEBOT_TOP_K", "0")
    with pytest.raises(ValidationError, match="top_k"):
        Settings(_env_file=None)
    monkeypatch.setenv("CITEBOT_TOP_K", "5")
    monkeypatch.setenv("CITEBOT_GENERATOR", "gpt-99")
    with pytest.raises(ValidationError, match="generator"):
        Settings(_env_file=None)


def test_env_file_is_read_when_asked(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CITEBOT_TOP_K=11\nOPENAI_API_KEY=sk-from-file\n", encoding="utf-8")
    s = Settings(_env_file=env_file)
    assert s.top_k == 11 and s.openai_api_key.get_secret_value() == "sk-from-file"


def test_masked_hides_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    s = Settings(_env_file=None)
    masked = s.masked()
    dumped = json.dumps(masked, default=str)
    assert "SECRET" not in dumped
    assert masked["openai_api_key"] == "****"
    assert masked["api_keys"] == ["****", "****"]
    assert masked["slack_bot_token"] == masked["slack_signing_secret"] == masked["slack_app_token"] == "****"
    assert masked["generator"] == "extractive" and isinstance(masked["data_dir"], str)
    # unset secrets are shown as unset, not as a mask
    assert Settings(_env_file=None, openai_api_key=None).masked()["openai_api_key"] is None
    assert "SECRET" not in repr(s) and "SECRET" not in str(s.model_dump())


def test_citebot_config_prints_no_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(SECRETS, CITEBOT_DATA_DIR=str(tmp_path / "data"), CITEBOT_TOP_K="7")
    proc = subprocess.run([str(CITEBOT), "config"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for value in SECRETS.values():
        for part in value.split(","):
            if part.strip():
                assert part.strip() not in out
    config = json.loads(proc.stdout)
    assert config["top_k"] == 7
    assert config["data_dir"] == str(tmp_path / "data")
    assert config["openai_api_key"] == "****"
    assert config["api_keys"] == ["****", "****"]


URL_SECRETS = {
    "OPENAI_BASE_URL": "https://llmuser:URLPASS123@llm.internal:8443/v1?api_key=URLKEY456&region=eu",
    "CITEBOT_SLACK_API_URL": "https://URLTOKEN789@slack.proxy.internal/api/",
    "CITEBOT_CORS_ORIGINS": "https://ops:CORSPASS@dash.internal,https://public.example.org",
}


def test_citebot_config_redacts_credentials_inside_urls(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(URL_SECRETS, CITEBOT_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run([str(CITEBOT), "config"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for leaked in ("URLPASS123", "URLKEY456", "URLTOKEN789", "CORSPASS", "llmuser"):
        assert leaked not in out
    config = json.loads(proc.stdout)
    # what is not a secret stays readable, so the operator can still check the address
    assert config["openai_base_url"] == "https://****@llm.internal:8443/v1?api_key=****&region=eu"
    assert config["slack_api_url"] == "https://****@slack.proxy.internal/api/"
    assert config["cors_origins"] == ["https://****@dash.internal", "https://public.example.org"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://a:b@h/x?token=t&q=1", "https://****@h/x?token=****&q=1"),
        ("https://h/x?signature=s", "https://h/x?signature=****"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    from rag.settings import redact_url

    assert redact_url(url) == expected


def test_verification_and_budget_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.settings import UnverifiedClaims

    defaults = Settings(_env_file=None)
    assert defaults.openai_temperature is None and defaults.openai_max_tokens == 1024
    assert (defaults.min_support, defaults.unverified_claims, defaults.fallback_reserve_s) == (
        0.5,
        UnverifiedClaims.remove,
        3.0,
    )
    monkeypatch.setenv("CITEBOT_UNVERIFIED_CLAIMS", "show")
    monkeypatch.setenv("CITEBOT_MIN_SUPPORT", "0.8")
    monkeypatch.setenv("CITEBOT_OPENAI_TEMPERATURE", "0.2")
    changed = Settings(_env_file=None)
    assert changed.unverified_claims is UnverifiedClaims.show and changed.min_support == 0.8
    assert changed.openai_temperature == 0.2
    for name, bad in (("CITEBOT_UNVERIFIED_CLAIMS", "hide"), ("CITEBOT_MIN_SUPPORT", "1.5")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(ValidationError, match=name.removeprefix("CITEBOT_").lower()):
            Settings(_env_file=None)
        monkeypatch.delenv(name)
