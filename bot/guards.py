"""Small in-process guards for the Slack bot: a TTL set that de-duplicates Slack's retries (the
per-user rate limiter is rag.access.RateLimiter, shared with the HTTP API).

It lives in one process. With several replicas behind a load balancer, Slack may deliver a retry
to another replica; a shared store (Redis `SET key NX EX ttl`, or a UNIQUE row in a shared SQL table)
would then be needed instead of these dictionaries.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
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
