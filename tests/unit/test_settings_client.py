"""The settings of `citebot ask` as a client: CITEBOT_URL and CITEBOT_API_KEY; a bad setting is a usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import Settings

CITEBOT = Path(sys.executable).parent / "citebot"


def test_url_and_key_are_read_and_the_key_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEBOT_URL", " http://127.0.0.1:8000/ ")
    monkeypatch.setenv("CITEBOT_API_KEY", "client-SECRET-key")
    s = Settings(_env_file=None)
    assert s.url == "http://127.0.0.1:8000"  # trimmed, no trailing slash: paths are appended to it
    assert s.api_key is not None and s.api_key.get_secret_value() == "client-SECRET-key"
    assert s.masked()["api_key"] == "****" and "SECRET" not in str(s.masked())
    assert Settings(_env_file=None, url="").url is None  # empty = unset = answer in-process


def test_a_url_without_scheme_is_refused() -> None:
    with pytest.raises(ValidationError, match="http://"):
        Settings(_env_file=None, url="127.0.0.1:8000")


def test_an_invalid_setting_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(CITEBOT_DATA_DIR=str(tmp_path / "data"), CITEBOT_TOP_K="many")
    proc = subprocess.run([str(CITEBOT), "config"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "top_k" in proc.stderr and "CITEBOT_" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
