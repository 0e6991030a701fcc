"""The one rate limiter of the project, shared by the HTTP API (per API key or IP) and the Slack bot
(per user): a token bucket per caller, `per_minute` requests a minute in bursts of up to that many.

In-process: with N workers or replicas each counts on its own (the effective limit is N times
higher); a shared store (Redis) would be needed for one global count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets per key; 0 turns the limit off. Thread-safe (Slack listeners run in threads)."""

    def __init__(self, per_minute: int, max_clients: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def per_minute(self) -> int:
        return int(self.capacity)

    def hit(self, key: str) -> float | None:
        """Take one token: None when allowed, else the seconds until the next request would be."""
        if self.capacity <= 0:
            return None
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.max_clients:
                    self._prune(now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next hit would be allowed)."""
        wait = self.hit(key)
        return (True, 0.0) if wait is None else (False, wait)

    def _prune(self, now: float) -> None:
        """Forget callers whose bucket is full again (they are indistinguishable from new ones)."""
        full = [k for k, (t, u) in self._buckets.items() if t + (now - u) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
