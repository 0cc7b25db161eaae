"""The Kafka adapter: publish an event and return only once the broker has it (acks=all,
idempotent producer)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from services.common import metrics
from services.common.kafka_security import KafkaSecurity, aiokafka_options
from services.common.logging import get_logger

log = get_logger(__name__)


class PublishFailed(Exception):
    """The broker did not acknowledge the event; nothing was accepted."""


class EventPublisher(Protocol):
    """What the routes need of Kafka; ``Publisher`` is the real one."""

    async def publish(self, topic: str, key: str, event: BaseModel) -> None: ...

    async def ready(self) -> bool: ...

    async def stop(self) -> None: ...


class Publisher:
    def __init__(self, bootstrap: str, timeout: float, security: KafkaSecurity | None = None) -> None:
        self._bootstrap = bootstrap
        self._security = security
        self._timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure_started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=int(self._timeout * 1000),
                    client_id="mecc-intake",
                    **aiokafka_options(self._security),
                )
                try:
                    await asyncio.wait_for(producer.start(), self._timeout)
                except (KafkaError, OSError, TimeoutError) as exc:
                    await producer.stop()
                    raise PublishFailed(f"broker unavailable: {type(exc).__name__}") from exc
                self._producer = producer
            return self._producer

    async def publish(self, topic: str, key: str, event: BaseModel) -> None:
        producer = await self._ensure_started()
        started = time.monotonic()
        try:
            await asyncio.wait_for(
                producer.send_and_wait(topic, key=key.encode(), value=event.model_dump_json().encode()),
                self._timeout,
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("publish_failed", topic=topic, error=type(exc).__name__)
            await self._discard(producer)
            raise PublishFailed(f"broker did not acknowledge: {type(exc).__name__}") from exc
        metrics.PUBLISH_SECONDS.observe(time.monotonic() - started)

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        """Start afresh after a failed send. An idempotent producer whose batches expired while
        the broker was away keeps sequence numbers the restarted broker never saw, and every
        later send fails with OutOfOrderSequenceNumber: a new producer (a new producer id) does
        not. The client retries with its Idempotency-Key, so nothing is created twice."""
        old: AIOKafkaProducer = producer
        async with self._lock:
            if self._producer is not producer:
                return  # another request already replaced it
            self._producer = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.stop(), self._timeout)

    async def ready(self) -> bool:
        try:
            await self._ensure_started()
        except PublishFailed:
            return False
        return True

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
