"""`citebot serve --workers 2` as a real process tree: every worker writes its access log lines,
/metrics (whichever worker answers it) counts the requests of both, the metrics folder is emptied
at start, and the read deadline applies in the workers too."""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.http import ServeProcess, derive

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"


@pytest.fixture(scope="module")
def workers(seeded_dir: Path, seeded_settings, tmp_path_factory) -> Iterator[ServeProcess]:
    root = tmp_path_factory.mktemp("workers")
    data_dir = root / "data"
    shutil.copytree(seeded_dir, data_dir)
    stale = data_dir / "metrics"
    stale.mkdir()
    (stale / "counter_999999.db").write_bytes(b"left over by an earlier run, not a metrics file")
    settings = derive(
        seeded_settings, data_dir=data_dir, rate_limit_per_minute=0, http_header_timeout_s=1.0, log_questions=False
    )
    server = ServeProcess(settings, root / "serve.log", workers=2).start()
    yield server
    server.stop()


def _access_lines(log_path: Path) -> list[dict]:
    lines = []
    for raw in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.startswith('{"event": "request"'):
            lines.append(json.loads(raw))
    return lines


def _fresh_get(url: str) -> httpx.Response:
    """A request on a new connection, so that the kernel may hand it to either worker."""
    return httpx.get(url, headers={"Connection": "close"}, timeout=30)


def _requests_total(metrics: str, route: str, status: str = "200") -> float:
    labels = f'(?=[^}}]*route="{re.escape(route)}")(?=[^}}]*status="{status}")'
    pattern = re.compile(r"^citebot_http_requests_total\{" + labels + r"[^}]*\}\s+(\S+)$", re.MULTILINE)
    return sum(float(v) for v in pattern.findall(metrics))


def test_two_workers_log_every_request_and_metrics_count_both(workers):
    log_path = workers.log_path
    sent = 1  # ServeProcess.start() waited for the first 200 of /healthz
    pids: set[int] = set()
    for _ in range(400):  # until both workers have answered (the kernel picks; usually a few requests)
        assert _fresh_get(f"{workers.base_url}/healthz").status_code == 200
        sent += 1
        if sent % 10 == 0:
            pids = {line["pid"] for line in _access_lines(log_path) if line["path"] == "/healthz"}
            if len(pids) >= 2:
                break
    assert len(pids) == 2, f"only worker(s) {pids} answered {sent} requests"
    ask = httpx.post(f"{workers.base_url}/ask", json={"question": QUESTION}, timeout=60)
    assert ask.status_code == 200

    # every /metrics answer, from either worker, counts the /healthz requests of both
    seen_totals = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metrics = _fresh_get(f"{workers.base_url}/metrics")
        assert metrics.status_code == 200
        seen_totals.append(_requests_total(metrics.text, "/healthz"))
        if len(seen_totals) >= 10 and all(t == sent for t in seen_totals[-10:]):
            break
    print(f"\n{sent} /healthz over 2 workers {sorted(pids)}; /metrics totals seen: {sorted(set(seen_totals))}")
    assert seen_totals[-10:] == [float(sent)] * 10
    assert _requests_total(metrics.text, "/ask") == 1
    assert 'citebot_answers_total{mode="extractive"} 1.0' in metrics.text
    assert "citebot_stage_duration_seconds_count" in metrics.text
    assert "citebot_http_requests_in_flight" in metrics.text

    lines = _access_lines(log_path)
    assert sum(line["path"] == "/healthz" for line in lines) == sent
    assert {line["pid"] for line in lines} == pids
    asked = [line for line in lines if line["path"] == "/ask"]
    assert len(asked) == 1 and asked[0]["status"] == 200 and "question" not in asked[0]


def test_stale_metrics_files_are_removed_at_start(workers):
    folder = workers.settings.data_dir / "metrics"
    assert not (folder / "counter_999999.db").exists()
    assert any(folder.glob("*.db"))  # the workers' own files


def test_workers_close_half_sent_requests(workers):
    port = int(workers.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 408"), data[:200]


def test_serve_refuses_a_bad_worker_count(tmp_path: Path):
    import subprocess

    from tests.support.servers import VENV_BIN

    proc = subprocess.run(
        [str(VENV_BIN / "citebot"), "serve", "--workers", "0"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "out of range" in proc.stderr and "Traceback" not in proc.stderr
