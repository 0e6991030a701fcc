"""Prometheus metrics of the HTTP service, on a registry per app (tests run several apps in one process).

With `citebot serve --workers N`, prometheus_client runs in multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by rag.serving before the workers start): every worker writes its values to files in that
folder and /metrics, whichever worker serves it, renders the sum over all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from rag.schemas import Answer

disable_created_metrics()  # no `*_created` series: they double the output and nobody graphs them

# Engine stages (Answer.timings_ms keys without "_ms") take 1 ms to seconds; HTTP adds a little.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    """Requests by route/method/status, latency per route and per engine stage, answer outcomes."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "citebot_http_requests_total",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "citebot_http_request_duration_seconds",
            "Time from the request arriving to the last byte of the response, by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "citebot_http_requests_in_flight",
            "Requests being served.",
            registry=self.registry,
            multiprocess_mode="livesum",  # the sum over live workers (ignored with one process)
        )
        self.stages = Histogram(
            "citebot_stage_duration_seconds",
            "Time per answering stage (embed, retrieve, generate, verify, total).",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "citebot_answers_total", "Answers given, by generator mode.", ["mode"], registry=self.registry
        )
        self.abstentions = Counter(
            "citebot_abstentions_total",
            "Answers that declined (nothing found in the documents).",
            registry=self.registry,
        )
        self.degraded = Counter(
            "citebot_degraded_answers_total",
            "Answers produced by the extractive fallback after the configured generator failed.",
            registry=self.registry,
        )
        self.timeouts = Counter(
            "citebot_request_timeouts_total", "Requests cut off by the per-request timeout.", registry=self.registry
        )
        self.rate_limited = Counter(
            "citebot_rate_limited_total", "Requests refused with 429 by the rate limiter.", registry=self.registry
        )
        # labels() costs a dict lookup plus a lock; cache the children on the hot path
        self._request_children: dict[tuple[str, str, int], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._stage_children: dict[str, Histogram] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(route, method, str(status))
        child.inc()
        hist = self._latency_children.get(route)
        if hist is None:
            hist = self._latency_children[route] = self.latency.labels(route)
        hist.observe(seconds)

    def observe_answer(self, answer: Answer) -> None:
        for key, ms in answer.timings_ms.items():
            stage = key.removesuffix("_ms")
            hist = self._stage_children.get(stage)
            if hist is None:
                hist = self._stage_children[stage] = self.stages.labels(stage)
            hist.observe(ms / 1000.0)
        self.answers.labels(answer.mode).inc()
        if answer.abstained:
            self.abstentions.inc()
        if answer.degraded:
            self.degraded.inc()

    def render(self) -> bytes:
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=str(self.multiprocess_dir))
        return generate_latest(registry)

    def close(self) -> None:
        """At a worker's shutdown: its live gauges stop counting in the other workers' sums."""
        if self.multiprocess_dir is not None:
            prometheus_multiprocess.mark_process_dead(os.getpid(), path=str(self.multiprocess_dir))
