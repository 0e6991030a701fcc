"""Run the real citebot ASGI app under a real uvicorn server on a free 127.0.0.1 port.

`UvicornThread` serves an app object in a thread of the test process (it can share the session's
Engine); `ServeProcess` runs `citebot serve` in a subprocess (its own engine, built from the
environment, as in production). Both stop by themselves on `stop()` / leaving the `with` block.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from rag.settings import settings_env
from tests.support.servers import VENV_BIN, free_port, stop_process, wait_http


class UvicornThread:
    def __init__(self, app: Any, port: int | None = None, settings: Any = None, **config: Any) -> None:
        """With `settings`, served exactly as `citebot serve` serves it (rag.serving.ServiceConfig:
        read deadlines and all); without, by a stock uvicorn Config."""
        self.port = port or free_port()
        config.setdefault("log_level", "warning")
        if settings is not None:
            from rag.serving import ServiceConfig

            self.config = ServiceConfig(
                app, settings, configure_logs=False, host="127.0.0.1", port=self.port, lifespan="on", **config
            )
        else:
            self.config = uvicorn.Config(
                app, host="127.0.0.1", port=self.port, access_log=False, lifespan="on", **config
            )
        self.server = uvicorn.Server(self.config)
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> UvicornThread:
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"uvicorn on port {self.port} exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn on port {self.port} did not start within {timeout}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=15)
            self.thread = None

    def __enter__(self) -> UvicornThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def derive(settings: Any, **overrides: Any) -> Any:
    """The same settings with overrides, validated (comma-separated keys are split, types checked)."""
    return type(settings)(_env_file=None, **{**settings.model_dump(), **overrides})


class ServeProcess:
    """`citebot serve --port PORT` in a subprocess, configured by environment variables."""

    def __init__(self, settings: Any, log_path: Path, port: int | None = None, workers: int = 1) -> None:
        self.port = port or free_port()
        self.settings = settings
        self.log_path = log_path
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> ServeProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
        env.update(settings_env(self.settings))
        cmd = [
            str(VENV_BIN / "citebot"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, env=env)
        wait_http(f"{self.base_url}/healthz", timeout=timeout, proc=self.proc)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
