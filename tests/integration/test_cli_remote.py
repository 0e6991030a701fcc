"""`citebot ask` through a real `citebot serve` (CITEBOT_URL), and what a question loads in-process.

The server is a real `citebot serve` process on a free 127.0.0.1 port over the seeded index; the
client is a real `citebot ask` process. Nothing of ours is replaced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.schemas import Answer
from rag.settings import Settings
from tests.support.servers import free_port, stop_process, wait_http

CITEBOT = Path(sys.executable).parent / "citebot"
KARACHI = "How many Chinese engineers were killed in the Karachi bombing?"
SERVER_KEY = "cli-remote-key-1"
# Modules a question answered elsewhere must not load (each costs start-up time).
SERVICE_ONLY = ("chromadb", "onnxruntime", "tokenizers", "numpy", "llama_index", "fastapi", "slack_bolt", "openai")
# ... and modules an in-process question does not need either.
NOT_FOR_A_QUESTION = ("llama_index", "fastapi", "uvicorn", "slack_bolt", "slack_sdk", "openai")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(CITEBOT_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False", **extra)
    return env


def citebot(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CITEBOT), *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def service(seeded_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `citebot serve` over the seeded index, with an API key."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = _env(seeded_settings.data_dir, CITEBOT_API_KEYS=SERVER_KEY, CITEBOT_RATE_LIMIT_PER_MINUTE="0")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(CITEBOT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def test_ask_via_the_service_prints_what_in_process_prints(
    tmp_path: Path, seeded_settings: Settings, service: str
) -> None:
    local = citebot("ask", KARACHI, env=_env(seeded_settings.data_dir), cwd=tmp_path)
    remote_env = _env(tmp_path / "no-index-here", CITEBOT_URL=service, CITEBOT_API_KEY=SERVER_KEY)
    remote = citebot("ask", KARACHI, env=remote_env, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert "Sources:" in remote.stdout and "[1]" in remote.stdout
    assert not (tmp_path / "no-index-here").exists()  # the client opened no index of its own


def test_ask_json_via_the_service_is_the_same_answer(tmp_path: Path, seeded_settings: Settings, service: str) -> None:
    args = ("ask", "--json", "--top-k", "4", KARACHI)
    local = Answer.model_validate_json(citebot(*args, env=_env(seeded_settings.data_dir), cwd=tmp_path).stdout)
    proc = citebot(*args, env=_env(tmp_path, CITEBOT_URL=service, CITEBOT_API_KEY=SERVER_KEY), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    remote = Answer.model_validate_json(proc.stdout)
    assert remote.answer == local.answer and "two" in remote.answer.lower()
    assert [c.model_dump() for c in remote.citations] == [c.model_dump() for c in local.citations]
    assert [s.chunk_id for s in remote.sources] == [s.chunk_id for s in local.sources]
    assert len(remote.sources) == 4  # --top-k reached the server


def test_interactive_prompt_via_the_service(tmp_path: Path, service: str) -> None:
    session = f"{KARACHI}\nWhat were the names of the two Chinese engineers who were killed?\n\n"
    env = _env(tmp_path, CITEBOT_URL=service, CITEBOT_API_KEY=SERVER_KEY)
    proc = citebot("ask", env=env, cwd=tmp_path, stdin=session)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Sources:") == 1
    assert "I could not find this in the documents." in proc.stdout


def test_the_first_server_key_is_used_when_no_client_key_is_set(tmp_path: Path, service: str) -> None:
    env = _env(tmp_path, CITEBOT_URL=service, CITEBOT_API_KEYS=f"{SERVER_KEY},another-key")
    proc = citebot("ask", KARACHI, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_wrong_key_says_which_setting_to_fix(tmp_path: Path, service: str) -> None:
    proc = citebot("ask", KARACHI, env=_env(tmp_path, CITEBOT_URL=service, CITEBOT_API_KEY="wrong"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "CITEBOT_API_KEY" in proc.stderr and "wrong" not in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_request_the_service_rejects_is_a_usage_error(tmp_path: Path, service: str) -> None:
    env = _env(tmp_path, CITEBOT_URL=service, CITEBOT_API_KEY=SERVER_KEY)
    proc = citebot("ask", "--top-k", "500", KARACHI, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "top_k" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unreachable_service_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = citebot("ask", KARACHI, env=_env(tmp_path, CITEBOT_URL=url), cwd=tmp_path)
    assert proc.returncode == 1
    assert url in proc.stderr and "citebot serve" in proc.stderr and "CITEBOT_URL" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_malformed_url_is_a_usage_error(tmp_path: Path) -> None:
    proc = citebot("ask", KARACHI, env=_env(tmp_path, CITEBOT_URL="127.0.0.1:8000"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "CITEBOT_URL" in proc.stderr and "http://" in proc.stderr
    assert "Traceback" not in proc.stderr


def _loaded_modules(env: dict[str, str], cwd: Path, modules: tuple[str, ...]) -> list[str]:
    """Run `citebot ask` in a fresh interpreter and list which of `modules` it imported."""
    code = (
        "import json, sys\n"
        "from rag.cli import main\n"
        f"rc = main(['ask', {KARACHI!r}])\n"
        f"print(json.dumps({{'rc': rc, 'loaded': [m for m in {list(modules)!r} if m in sys.modules]}}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0, proc.stderr
    return result["loaded"]


def test_a_question_via_the_service_loads_no_model_and_no_store(tmp_path: Path, service: str) -> None:
    env = _env(tmp_path, CITEBOT_URL=service, CITEBOT_API_KEY=SERVER_KEY)
    assert _loaded_modules(env, tmp_path, SERVICE_ONLY) == []


def test_an_in_process_question_loads_only_what_it_needs(tmp_path: Path, seeded_settings: Settings) -> None:
    assert _loaded_modules(_env(seeded_settings.data_dir), tmp_path, NOT_FOR_A_QUESTION) == []
