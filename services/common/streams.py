"""The loop every faust agent in the project runs: take a batch, decode, handle, dead-letter
what cannot be processed, and retry what failed for a passing reason. The stream never stops
for one bad message, and nothing is dropped silently.

Batches: messages are taken up to ``max_batch`` at a time, or whatever arrived within
``within`` seconds, so a busy stream pays for one database transaction and one round of
broker acknowledgements per batch rather than per message, and a quiet one waits at most
``within`` before a lone message is handled.

At-least-once: a batch's messages are acknowledged to faust only after the handler has
finished with all of them (``noack_take``), and faust commits only acknowledged offsets, so a
crash or a shutdown mid-batch replays the whole batch; handlers are idempotent, so a replay
changes nothing.

One bad message does not sink its batch: when a batch fails for a reason that is not passing,
its messages are handled one by one, so the bad one is dead-lettered with its reason and the
others go through.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import faust
from faust.streams import Stream
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from schemas import DeadLetter
from services.common import metrics
from services.common.logging import get_logger, mask_text

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
    """A short reason naming each bad field and the kind of error (``value_error``,
    ``string_too_long``...), never the value or a message that may quote it (they may be personal)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"{where}: {err['type']}")
    return "invalid event: " + "; ".join(parts)


def failure_reason(exc: BaseException) -> str:
    """What a dead letter says about why: field names and error types, never input values.
    An unexpected exception is named by its type only (its text may quote a value or the SQL
    parameters); our own ``PermanentFailure`` texts are masked as well."""
    if isinstance(exc, ValidationError):
        return validation_reason(exc)
    if isinstance(exc, PermanentFailure):
        return mask_text(str(exc))
    if isinstance(exc, UnicodeDecodeError | ValueError):
        return f"undecodable: {type(exc).__name__}"
    return f"unexpected {type(exc).__name__}"


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
        reason=mask_text(reason)[:2000],
        original_b64=base64.b64encode(bytes(raw)).decode(),
    )
    fut = await topic.send(key=msg.key, value=letter.model_dump_json().encode())
    await fut
    metrics.DEAD_LETTERS.labels(service, msg.topic).inc()
    log.warning("dead_lettered", service=service, topic=msg.topic, partition=msg.partition,
                offset=msg.offset, reason=letter.reason[:300])


Handler = Callable[[list[T]], Awaitable[Any]]


def one_by_one(handle: Callable[[T], Awaitable[Any]]) -> Callable[[list[T]], Awaitable[None]]:
    """A batch handler for a handler of single messages (streams too quiet to be worth batching)."""
    async def handle_batch(values: list[T]) -> None:
        for value in values:
            await handle(value)

    return handle_batch


class _Retrying:
    """Runs a batch handler until it succeeds or fails for good, backing off on passing failures."""

    def __init__(self, service: str, max_backoff: float) -> None:
        self.service = service
        self.max_backoff = max_backoff

    async def run(self, handle_batch: Handler[T], values: list[T], where: str) -> None:
        attempt = 0
        while True:
            try:
                await handle_batch(values)
                return
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                attempt += 1
                metrics.TRANSIENT_RETRIES.labels(self.service, type(exc).__name__).inc()
                delay = min(self.max_backoff, 0.2 * 2**attempt) * (0.5 + random.random() / 2)
                log.warning("transient_failure_retrying", at=where, messages=len(values), attempt=attempt,
                            error=type(exc).__name__, delay=round(delay, 2))
                await asyncio.sleep(delay)


def _where(event: faust.EventT) -> str:
    msg = event.message
    return f"{msg.topic}[{msg.partition}]@{msg.offset}"


async def process(
    stream: faust.StreamT,
    *,
    service: str,
    decode: Callable[[bytes], T],
    handle_batch: Handler[T],
    dead_letters: faust.TopicT,
    max_batch: int = 200,
    within: float = 0.02,
    max_backoff: float = 30.0,
) -> None:
    retrying = _Retrying(service, max_backoff)
    # noack_take hands back events (not values) and leaves acknowledging them to us.
    taking = cast(Stream[Any], stream).noack_take(max_batch, within)
    async for events in cast(AsyncIterator[list[faust.EventT]], taking):
        decoded: list[tuple[faust.EventT, T]] = []
        for event in events:
            try:
                decoded.append((event, decode(event.value)))
            except (ValueError, UnicodeDecodeError) as exc:  # a ValidationError is a ValueError
                await dead_letter(dead_letters, service=service, event=event, reason=failure_reason(exc))
        if decoded:
            try:
                await retrying.run(handle_batch, [value for _, value in decoded], _where(decoded[0][0]))
            except Exception as exc:
                if len(decoded) == 1:
                    await _dead_letter_failure(dead_letters, service, decoded[0][0], exc)
                else:
                    log.warning("batch_failed_handling_one_by_one", messages=len(decoded),
                                error=type(exc).__name__)
                    for event, value in decoded:
                        try:
                            await retrying.run(handle_batch, [value], _where(event))
                        except Exception as single:
                            await _dead_letter_failure(dead_letters, service, event, single)
        for event in events:
            await stream.ack(event)
            metrics.EVENTS_PROCESSED.labels(service, event.message.topic).inc()


async def _dead_letter_failure(dead_letters: faust.TopicT, service: str, event: faust.EventT,
                               exc: Exception) -> None:
    if not isinstance(exc, PermanentFailure):
        log.exception("handler_failed", at=_where(event), error=type(exc).__name__)
    await dead_letter(dead_letters, service=service, event=event, reason=failure_reason(exc))
