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


class FailureThrottle:
    """Failed sign-ins counted per key (a client address, an account) over a sliding window: past
    ``limit`` failures in ``window`` seconds the key is refused until the oldest failure ages out.
    In-process, like the buckets above."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if now - t < self.window]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def wait(self, key: str) -> float:
        """0 if ``key`` may try now; else the seconds until it may."""
        now = self._clock()
        times = self._recent(key, now)
        return 0.0 if len(times) < self.limit else times[-self.limit] + self.window - now

    def failed(self, key: str) -> None:
        now = self._clock()
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times
        self._failures.move_to_end(key)
        if len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        """A success clears an account's failures."""
        self._failures.pop(key, None)


class SignInThrottle:
    """Failed sign-ins, whatever the method (a page's key, an API key, an OpenID sign-in), counted
    per client address and per account; either over its limit refuses the next try."""

    def __init__(self, per_client: int, per_account: int, window: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = FailureThrottle(per_client, window, clock=clock)
        self.accounts = FailureThrottle(per_account, window, clock=clock)

    def wait(self, client: str, account: str | None = None) -> float:
        return max(self.clients.wait(client), self.accounts.wait(account) if account else 0.0)

    def failed(self, client: str, account: str | None = None) -> None:
        self.clients.failed(client)
        if account:
            self.accounts.failed(account)

    def succeeded(self, account: str | None) -> None:
        if account:
            self.accounts.forget(account)
