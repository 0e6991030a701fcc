"""The docker-compose topology as real processes: one Chroma server, an ingest job, two API replicas.

No Docker engine runs here, so the services of docker-compose.yml run as the processes they would
start in their containers, with the same commands and the same CITEBOT_CHROMA_HOST/PORT wiring:
`chroma run` on a free port, the compose `ingest` command, and the compose `api` command twice (each
replica with its own data dir, as separate containers or hosts would have). Both replicas must
answer identically; the Chroma server is then killed and restarted and the replicas must recover
without being restarted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.servers import ChromaServer, free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
CITEBOT = str(Path(sys.executable).parent / "citebot")
QUESTIONS = [
    "How many Chinese were killed in the Karachi airport bombing?",
    "Which group claimed the Karachi airport attack?",
    "What did China's Ministry of State Security say it would do?",
]


def service_env(chroma_port: int, data_dir: Path) -> dict[str, str]:
    """The compose environment of a citebot service, with `chroma` resolved to 127.0.0.1:port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    compose_env = dict(COMPOSE["api"]["environment"])
    assert compose_env["CITEBOT_CHROMA_HOST"] == "chroma"
    compose_env.update(
        CITEBOT_CHROMA_HOST="127.0.0.1",
        CITEBOT_CHROMA_PORT=str(chroma_port),
        CITEBOT_DATA_DIR=str(data_dir),
        CITEBOT_LOG_LEVEL="WARNING",
    )
    compose_env.pop("CITEBOT_HOST", None)
    compose_env.pop("CITEBOT_PORT", None)
    env.update(compose_env)
    env["ANONYMIZED_TELEMETRY"] = "False"
    return env


class Replica:
    """One `citebot serve` process started with the compose api command, on a free port."""

    def __init__(self, name: str, chroma_port: int, workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True)
        command = list(COMPOSE["api"]["command"])
        command[command.index("--port") + 1] = str(self.port)
        command[command.index("--host") + 1] = "127.0.0.1"
        self.command = [CITEBOT, *command]
        self.env = service_env(chroma_port, self.workdir / "data")
        self.log = self.workdir / "serve.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Replica:
        self.proc = subprocess.Popen(
            self.command, cwd=self.workdir, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        wait_http(f"{self.url}/healthz", timeout=timeout, proc=self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(f"{self.url}/readyz", timeout=30).status_code == 200:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process(self.proc)


def comparable(answer: dict) -> dict:
    """An answer without what legitimately differs per request (id, timings)."""
    return {k: v for k, v in answer.items() if k not in ("request_id", "timings_ms")}


def ask(replica: Replica, question: str) -> httpx.Response:
    return httpx.post(f"{replica.url}/ask", json={"question": question}, timeout=60)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[tuple[ChromaServer, list[Replica]]]:
    chroma = ChromaServer(tmp_path / "chroma-data").start()
    replicas: list[Replica] = []
    try:
        # the compose `ingest` service's command, with /corpus -> seeds/
        # (and compose's default for ${CORPUS_NAME:-seeds})
        substitute = {"/corpus": SEEDS.as_posix(), "${CORPUS_NAME:-seeds}": "seeds"}
        command = [substitute.get(part, part) for part in COMPOSE["ingest"]["command"]]
        ingest_dir = tmp_path / "ingest"
        ingest_dir.mkdir()
        for attempt in (1, 2):  # the second run is what a `docker compose up` restart does: nothing to do
            done = subprocess.run(
                [CITEBOT, *command],
                cwd=ingest_dir,
                env=service_env(chroma.port, ingest_dir / "data"),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"ingest run {attempt} failed: {done.stderr[-2000:]}"
        replicas = [Replica(name, chroma.port, tmp_path).start() for name in ("api-1", "api-2")]
        for replica in replicas:
            replica.wait_ready()
        yield chroma, replicas
    finally:
        for replica in replicas:
            replica.stop()
        chroma.stop()


def test_two_replicas_share_one_chroma_and_survive_its_restart(topology):
    chroma, (one, two) = topology

    # same index, seen through the server by both replicas
    ready = [httpx.get(f"{r.url}/readyz", timeout=30).json() for r in (one, two)]
    assert ready[0]["documents"] == ready[1]["documents"] == len(list(SEEDS.glob("*.txt")))
    assert ready[0]["index_fingerprint"] == ready[1]["index_fingerprint"]
    docs = [httpx.get(f"{r.url}/documents", timeout=30).json() for r in (one, two)]
    assert docs[0] == docs[1] and len(docs[0]) == ready[0]["documents"]

    # both answer identically
    before = {}
    for question in QUESTIONS:
        first, second = ask(one, question), ask(two, question)
        assert first.status_code == second.status_code == 200, (first.text, second.text)
        assert comparable(first.json()) == comparable(second.json())
        assert first.json()["citations"], f"no citations for {question!r}"
        before[question] = comparable(first.json())

    # the compose api healthcheck command works against a real replica
    health = COMPOSE["api"]["healthcheck"]["test"]
    probe = [part.replace(":8080/", f":{one.port}/") for part in health[1:]]
    assert subprocess.run(probe, timeout=20).returncode == 0

    # Chroma goes away: answers fail with a clear 503, liveness stays up, readiness goes down
    chroma.proc.kill()
    chroma.proc.wait()
    for replica in (one, two):
        failed = ask(replica, QUESTIONS[0])
        assert failed.status_code == 503, failed.text
        body = failed.json()
        assert "Chroma" in body["message"] and "not reachable" in body["message"]
        assert httpx.get(f"{replica.url}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{replica.url}/readyz", timeout=30).status_code == 503

    # Chroma comes back on the same port and data: both replicas recover by themselves
    chroma.start()
    for replica in (one, two):
        deadline = time.monotonic() + 60
        while True:
            response = ask(replica, QUESTIONS[1])
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert response.status_code == 200, f"{replica.name} did not recover: {response.text}"
        assert replica.proc.poll() is None, "the replica must not have restarted"
    for question in QUESTIONS:
        assert comparable(ask(one, question).json()) == comparable(ask(two, question).json()) == before[question]
