"""The loop every faust agent in the project runs: decode, handle, dead-letter what cannot be
processed, and retry what failed for a passing reason. The stream never stops for one bad
message, and nothing is dropped silently.

At-least-once: faust commits a message's offset only after the agent has moved past it, so
a crash replays it; handlers are idempotent, so a replay changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from schemas import DeadLetter
from services.common import metrics
from services.common.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)


class PermanentFailure(Exception):
    """Processing this message can never succeed: dead-letter it with this reason."""


class TransientFailure(Exception):
    """Processing failed for a passing reason (a database or broker away): try again."""


TRANSIENT: tuple[type[BaseException], ...] = (
    TransientFailure,
    OperationalError,
    ConnectionError,
    asyncio.TimeoutError,
)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def validation_reason(exc: ValidationError) -> str:
    """A short reason naming each bad field, without echoing the values (they may be personal)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"{where}: {err['msg']}")
    return "invalid event: " + "; ".join(parts)


async def dead_letter(
    topic: faust.TopicT, *, service: str, event: faust.EventT, reason: str
) -> None:
    """Publish the original bytes with the reason, and wait for the broker to have them."""
    msg = event.message
    raw = msg.value if isinstance(msg.value, bytes | bytearray) else str(msg.value).encode()
    letter = DeadLetter(
        service=service,
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        reason=reason[:2000],
        original_b64=base64.b64encode(bytes(raw)).decode(),
    )
    fut = await topic.send(key=msg.key, value=letter.model_dump_json().encode())
    await fut
    metrics.DEAD_LETTERS.labels(service, msg.topic).inc()
    log.warning("dead_lettered", service=service, topic=msg.topic, partition=msg.partition,
                offset=msg.offset, reason=reason[:300])


async def process(
    stream: faust.StreamT,
    *,
    service: str,
    decode: Callable[[bytes], T],
    handle: Callable[[T], Awaitable[Any]],
    dead_letters: faust.TopicT,
    max_backoff: float = 30.0,
) -> None:
    async for event in stream.events():
        msg = event.message
        try:
            value = decode(event.value)
        except ValidationError as exc:
            await dead_letter(dead_letters, service=service, event=event, reason=validation_reason(exc))
            metrics.EVENTS_PROCESSED.labels(service, msg.topic).inc()
            continue
        except (ValueError, UnicodeDecodeError) as exc:
            await dead_letter(dead_letters, service=service, event=event, reason=f"undecodable: {exc}")
            metrics.EVENTS_PROCESSED.labels(service, msg.topic).inc()
            continue
        attempt = 0
        while True:
            try:
                await handle(value)
                break
            except PermanentFailure as exc:
                await dead_letter(dead_letters, service=service, event=event, reason=str(exc))
                break
            except Exception as exc:
                if not _is_transient(exc):
                    log.exception("handler_failed", topic=msg.topic, offset=msg.offset)
                    await dead_letter(
                        dead_letters, service=service, event=event,
                        reason=f"unexpected {type(exc).__name__}: {exc}",
                    )
                    break
                attempt += 1
                metrics.TRANSIENT_RETRIES.labels(service, type(exc).__name__).inc()
                delay = min(max_backoff, 0.2 * 2**attempt) * (0.5 + random.random() / 2)
                log.warning("transient_failure_retrying", topic=msg.topic, offset=msg.offset,
                            attempt=attempt, error=type(exc).__name__, delay=round(delay, 2))
                await asyncio.sleep(delay)
        metrics.EVENTS_PROCESSED.labels(service, msg.topic).inc()
