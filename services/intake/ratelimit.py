"""A small in-process token bucket per client address and per API key, for the public
endpoints: ``RATE_LIMIT_PER_MINUTE`` requests a minute on average, bursts of
``RATE_LIMIT_BURST``; beyond that, 429 with ``Retry-After``.

In-process on purpose: one intake process per host behind the force's proxy. Several intake
processes each keep their own buckets, so the effective limit is per process.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucket:
    """Buckets keyed by client; the least recently seen are forgotten beyond ``max_keys``."""

    def __init__(self, per_minute: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 if ``key`` may go ahead (a token is spent), else the seconds until it may."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[key] = bucket
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate if self.rate > 0 else math.inf


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
