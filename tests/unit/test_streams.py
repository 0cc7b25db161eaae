"""The loop every agent runs: a batch is acknowledged only once it has been handled, a passing
failure retries it, and one bad message is dead-lettered without sinking the rest."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from services.common.streams import PermanentFailure, one_by_one, process


class Value(BaseModel):
    n: int


@dataclass
class Message:
    offset: int
    value: bytes
    topic: str = "contacts.public"
    partition: int = 0
    key: bytes = b"k"


@dataclass
class Event:
    message: Message

    @property
    def value(self) -> bytes:
        return self.message.value


@dataclass
class FakeStream:
    """Hands out the given batches as faust's ``noack_take`` would, and records acks."""

    batches: list[list[Event]]
    acked: list[int] = field(default_factory=list)

    async def noack_take(self, max_: int, within: float) -> Any:
        for batch in self.batches:
            yield batch

    async def ack(self, event: Event) -> bool:
        self.acked.append(event.message.offset)
        return True


@dataclass
class FakeTopic:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[None]:
        self.sent.append(json.loads(value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def events(*values: bytes, start: int = 0) -> list[Event]:
    return [Event(Message(start + i, v)) for i, v in enumerate(values)]


def good(*ns: int) -> list[bytes]:
    return [Value(n=n).model_dump_json().encode() for n in ns]


async def run(stream: FakeStream, handle_batch: Any) -> FakeTopic:
    letters = FakeTopic()
    await process(stream, service="router", decode=Value.model_validate_json,
                  handle_batch=handle_batch, dead_letters=letters)
    return letters


def test_a_batch_is_handled_together_and_acknowledged_after():
    seen: list[list[int]] = []
    stream = FakeStream([events(*good(1, 2, 3)), events(*good(4), start=3)])

    async def handle_batch(values: list[Value]) -> None:
        offsets = {v.n - 1 for v in values}
        assert not set(stream.acked) & offsets, "acknowledged before it was handled"
        seen.append([v.n for v in values])

    letters = asyncio.run(run(stream, handle_batch))
    assert seen == [[1, 2, 3], [4]]
    assert stream.acked == [0, 1, 2, 3]
    assert letters.sent == []


def test_one_bad_message_is_dead_lettered_and_the_rest_go_through():
    handled: list[int] = []

    async def handle(value: Value) -> None:
        if value.n == 2:
            raise PermanentFailure("no routed report MECC-0000-0002")
        handled.append(value.n)

    stream = FakeStream([events(*good(1, 2, 3), b"not json", good(4)[0])])
    letters = asyncio.run(run(stream, one_by_one(handle)))
    # The batch failed at 2; handled again one by one, 1 is handled twice (handlers are
    # idempotent), 3 and 4 once the poison is out of the way.
    assert sorted(set(handled)) == [1, 3, 4]
    reasons = {base64.b64decode(letter["original_b64"]): letter["reason"] for letter in letters.sent}
    assert reasons[good(2)[0]] == "no routed report MECC-0000-0002"
    assert reasons[b"not json"] == "invalid event: (message): json_invalid"
    assert stream.acked == [0, 1, 2, 3, 4]


def test_a_passing_failure_retries_the_whole_batch():
    calls: list[list[int]] = []

    async def handle_batch(values: list[Value]) -> None:
        calls.append([v.n for v in values])
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("database restarting"))

    stream = FakeStream([events(*good(1, 2))])
    letters = asyncio.run(run(stream, handle_batch))
    assert calls == [[1, 2], [1, 2]]
    assert stream.acked == [0, 1]
    assert letters.sent == []


def test_a_batch_interrupted_mid_way_is_not_acknowledged():
    async def handle_batch(values: list[Value]) -> None:
        raise asyncio.CancelledError  # the worker is stopping

    stream = FakeStream([events(*good(1, 2, 3))])
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run(stream, handle_batch))
    assert stream.acked == []


def test_an_idle_stream_sleeps_instead_of_waking_every_batching_window() -> None:
    """faust's own ``noack_take`` wakes every ``within`` seconds with nothing to do (15 times in
    0.3 s at 20 ms): each idle agent then costs CPU all day. The project's stream waits for the
    first message of a batch without a timeout."""
    import faust

    from services.common.faust_worker import WaitingStream, app_options

    async def wake_ups_while_idle(seconds: float) -> int:
        app = faust.App("test-idle-stream", autodiscover=False, **app_options(bootstrap="127.0.0.1:1", web_port=1))
        stream = app.stream(app.channel())
        assert isinstance(stream, WaitingStream)
        waits = 0
        wait_for_stopped = stream.wait_for_stopped

        async def counted(*args: Any, **kwargs: Any) -> bool:
            nonlocal waits
            waits += 1
            return await wait_for_stopped(*args, **kwargs)

        stream.wait_for_stopped = counted  # type: ignore[method-assign]

        async def take() -> None:
            async for _ in stream.noack_take(200, 0.02):
                pass

        async with stream:
            taking = asyncio.create_task(take())
            await asyncio.sleep(seconds)
            taking.cancel()
        return waits

    assert asyncio.run(wake_ups_while_idle(0.3)) == 1  # one wait, still pending
