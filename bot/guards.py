"""Small in-process guards for the Slack bot: a TTL set that de-duplicates Slack's retries and a
per-user sliding-window rate limiter.

Both live in one process. With several replicas behind a load balancer, Slack may deliver a retry
to another replica; a shared store (Redis `SET key NX EX ttl`, or a UNIQUE row in a shared SQL table)
would then be needed instead of these dictionaries.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class TTLSet:
    """Remembers keys for `ttl_s` seconds. `add(key)` is True only the first time a live key is seen."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._clock = clock
        self._items: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            self._expire(now)
            if key in self._items:
                return False
            self._items[key] = now + self.ttl_s
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return True

    def __contains__(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            self._expire(now)
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)

    def _expire(self, now: float) -> None:
        # insertion order == expiry order (constant ttl), so expired keys are at the front
        while self._items:
            key, expires = next(iter(self._items.items()))
            if expires > now:
                break
            self._items.popitem(last=False)


class RateLimiter:
    """At most `per_minute` hits per key in any 60-second window; 0 turns the limit off."""

    def __init__(self, per_minute: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next hit would be allowed)."""
        if self.per_minute <= 0:
            return True, 0.0
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False, max(0.0, hits[0] + self.window_s - now)
            hits.append(now)
            if len(self._hits) > 10_000:  # drop idle users
                for idle in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
                    del self._hits[idle]
            return True, 0.0
