"""ASGI guards in front of every intake route: body size whatever the framing (a
``Content-Length`` over the limit, or a chunked / unannounced body that grows past it), and
rate limits per client address and per API key on the endpoints that write, and per client
address on reads (a looser one: pages, the public dashboard, the APIs' GETs), 429 with
``Retry-After``. Provider webhooks are not rate-limited: Twilio and SendGrid retry in bursts
and are authenticated by signature."""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import metrics
from services.intake.ratelimit import TokenBucket, retry_after
from services.intake.settings import IntakeSettings

READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The client address of the request being handled (behind the trusted proxies), for the audit log.
CLIENT: ContextVar[str | None] = ContextVar("intake_client", default=None)

#: Reads not rate-limited: static files, liveness and readiness, metrics.
UNCOUNTED = ("/static/", "/healthz", "/readyz", "/metrics", "/webhooks/")


async def _answer(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    raw = json.dumps(body).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": raw})
    metrics.REPORTS_REFUSED.labels(str(status)).inc()


def client_address(client: tuple[str, int] | None, forwarded_for: str | None, hops: int) -> str:
    """Who is asking, behind ``hops`` proxies of ours: the entry ``hops`` places from the right of
    X-Forwarded-For (each of our proxies appended the address it saw). Entries further left were
    written by the client and prove nothing; with fewer entries than hops, the leftmost one."""
    if hops > 0 and forwarded_for:
        entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
        if entries:
            return entries[-hops] if len(entries) >= hops else entries[0]
    return str(client[0]) if client else "unknown"


class Guards:
    def __init__(self, app: ASGIApp, settings: IntakeSettings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        self.hops = settings.proxy_hops
        self.enabled = settings.rate_limit_per_minute > 0
        self.by_address = TokenBucket(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.by_key = TokenBucket(settings.rate_limit_key_per_minute, settings.rate_limit_key_burst)
        self.reads = TokenBucket(settings.rate_limit_reads_per_minute, settings.rate_limit_reads_burst)

    def _address(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        forwarded = headers.get(b"x-forwarded-for")
        return client_address(scope.get("client"), forwarded.decode("latin-1") if forwarded else None, self.hops)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        CLIENT.set(self._address(scope, headers))
        writes = scope["method"] not in READS and not scope["path"].startswith("/webhooks/")
        if writes and self.enabled:
            wait = self.by_address.take(self._address(scope, headers))
            if not wait and (key := headers.get(b"x-api-key")):
                wait = self.by_key.take(hashlib.sha256(key).hexdigest())
            if wait:
                await _answer(send, 429, {"error": "too many requests; please try again later"},
                              {"Retry-After": retry_after(wait)})
                return
        elif (self.enabled and not scope["path"].startswith(UNCOUNTED)
              and (wait := self.reads.take(self._address(scope, headers)))):
            await _answer(send, 429, {"error": "too many requests; please try again later"},
                          {"Retry-After": retry_after(wait)})
            return
        length = headers.get(b"content-length")
        if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > self.limit):
            await _answer(send, 413, {"error": "request body too large", "limit_bytes": self.limit})
            return
        if length is not None or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked, or a client that does not say): read up to the limit first.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _answer(send, 413, {"error": "request body too large", "limit_bytes": self.limit})
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}],
                                      receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
