"""Running the HTTP service under uvicorn: `citebot serve [--workers N]`.

- Read deadlines: uvicorn (0.54) has no timeout for a request that arrives slowly (its
  `timeout_keep_alive` only covers idle time between requests and is reset by every byte; see
  uvicorn issue #157, never done), so one client holding hundreds of half-sent requests keeps
  them all open. `ReadDeadline` wraps uvicorn's own HTTP protocols: the request line and headers
  must arrive within `http_header_timeout_s` and the body within `http_body_timeout_s`, else the
  connection gets a 408 and is closed. Nothing is timed once the request is in: answering is
  bounded by `request_timeout_s` in the app, and streamed answers are never cut.
- Workers: each worker is a fresh process (spawned by uvicorn), so it configures logging itself
  (`ServiceConfig.configure_logging`) and counts its metrics into prometheus_client's
  multiprocess files under `<data_dir>/metrics`, which the parent empties at start; /metrics on
  any worker then reports the sum over all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from rag.logs import configure_logging
from rag.settings import Settings

log = logging.getLogger("citebot.serve")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client at import, in every worker


def _timeout_response() -> bytes:
    body = json.dumps(
        {
            "error": "request_timeout",
            "message": "the request did not arrive in time: send the headers and body without pausing",
            "request_id": "-",
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


TIMEOUT_RESPONSE = _timeout_response()


class ReadDeadline:
    """Mixin for uvicorn's HTTP protocol classes: absolute deadlines for reading a request.

    Phases: "head" from the connection (or the first byte of the next request on a kept-alive
    connection) until the headers are parsed; "body" from then until the body is complete.
    Between them and while the app answers, no deadline runs.
    """

    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    client: Any

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        self._header_timeout_s = float(getattr(config, "header_timeout_s", 10.0))
        self._body_timeout_s = float(getattr(config, "body_timeout_s", 30.0))
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: tuple[str, int] | None = None
        self._got_bytes = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._set_phase(("head", 0))

    def data_received(self, data: bytes) -> None:
        self._got_bytes = self._got_bytes or bool(data)
        super().data_received(data)  # type: ignore[misc]
        self._update(after_data=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._got_bytes = False
        self._update(after_data=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_phase(None)
        super().connection_lost(exc)  # type: ignore[misc]

    # ------------------------------------------------------------------------------------------
    def _update(self, *, after_data: bool) -> None:
        if self.transport.is_closing():
            self._set_phase(None)
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            self._set_phase(("body", id(cycle)) if cycle.more_body else None)
        elif after_data:  # bytes came in and no request is complete yet: a head is arriving
            self._set_phase(("head", 0))
        else:
            self._set_phase(None)  # idle between requests: uvicorn's keep-alive timeout applies

    def _set_phase(self, phase: tuple[str, int] | None) -> None:
        if phase == self._phase:
            return  # the deadline is absolute: more bytes of the same phase do not extend it
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            seconds = self._header_timeout_s if phase[0] == "head" else self._body_timeout_s
            self._deadline = self.loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        phase, self._deadline = self._phase, None
        self._phase = None
        if phase is None or self.transport.is_closing():
            return
        cycle = self.cycle
        answered = phase[0] == "body" and cycle is not None and cycle.response_started
        if phase[0] == "body" and cycle is not None:
            cycle.scope.setdefault("state", {})["read_timeout"] = True  # the access log says 408, not the app's view
        if self._got_bytes and not answered:
            self.transport.write(TIMEOUT_RESPONSE)
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        log.info(json.dumps({"event": "read_timeout", "phase": phase[0], "client": client}))
        self.transport.close()


class DeadlineH11Protocol(ReadDeadline, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is optional in uvicorn
    DeadlineProtocol: type = DeadlineH11Protocol
else:

    class DeadlineHttpToolsProtocol(ReadDeadline, HttpToolsProtocol):
        pass

    DeadlineProtocol = DeadlineHttpToolsProtocol


class ServiceConfig(uvicorn.Config):
    """uvicorn's Config plus the read deadlines and citebot's logging (also in spawned workers)."""

    def __init__(self, app: Any, settings: Settings, *, configure_logs: bool = True, **kwargs: Any) -> None:
        self.settings = settings
        self.configure_logs = configure_logs  # False when embedded in a process that set up its own logging
        self.header_timeout_s = settings.http_header_timeout_s
        self.body_timeout_s = settings.http_body_timeout_s
        kwargs.setdefault("http", DeadlineProtocol)
        kwargs.setdefault("ws", "none")  # no websocket routes: upgrades are plain HTTP requests
        kwargs.setdefault("access_log", False)  # one structured line per request comes from ServiceMiddleware
        kwargs.setdefault("log_config", None)
        kwargs.setdefault("server_header", False)
        kwargs.setdefault("timeout_graceful_shutdown", 10)
        super().__init__(app, **kwargs)

    def configure_logging(self) -> None:
        super().configure_logging()
        if self.configure_logs:
            configure_logging(self.settings)


def prepare_multiprocess_metrics(settings: Settings) -> None:
    """Empty `<data_dir>/metrics` and point prometheus_client in the workers to spawn at it."""
    path = settings.metrics_dir
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def worker_app() -> Any:
    """The app of one worker of `citebot serve --workers N` (uvicorn calls it in each process)."""
    from rag.service import build_app

    settings = Settings()
    configure_logging(settings)
    return build_app(settings)


def serve(settings: Settings, host: str | None = None, port: int | None = None, workers: int = 1) -> int:
    """`citebot serve`: uvicorn on host:port. With workers > 1 each worker builds its own engine
    from the environment (the same Settings() the CLI read)."""
    from uvicorn.supervisors import Multiprocess

    host = host or settings.host
    port = port or settings.port
    log.info("citebot serve on http://%s:%s (%d worker%s)", host, port, workers, "" if workers == 1 else "s")
    if workers > 1:
        prepare_multiprocess_metrics(settings)
        config = ServiceConfig("rag.serving:worker_app", settings, factory=True, host=host, port=port, workers=workers)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    from rag.service import build_app

    config = ServiceConfig(build_app(settings), settings, host=host, port=port)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1
