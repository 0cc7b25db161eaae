from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer

from harness.processes import stack_keys

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True, scope="module")
def _stack_keys() -> Iterator[None]:
    """What a stack writes is read (and addresses matched) here with the stack's keys."""
    with stack_keys():
        yield


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    yield p
    p.close()


def read_until(kafka_bootstrap: str, topic: str, predicate: Callable[[bytes], bool], count: int = 1,
               timeout: float = 60.0) -> list[bytes]:
    """Values on ``topic`` (from the beginning) that satisfy ``predicate``, once ``count`` are seen."""
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             group_id=f"test-{uuid.uuid4().hex[:8]}", consumer_timeout_ms=1000)
    found: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) < count:
            for message in consumer:
                if predicate(message.value):
                    found.append(message.value)
    finally:
        consumer.close()
    return found
