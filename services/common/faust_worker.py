"""Running a faust app as a service process with the project's logging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

import faust
import mode.loop
from faust.types import EventT
from mode.utils.futures import notify

from services.common.config_files import ROOT
from services.common.kafka_security import KafkaSecurity, faust_options
from services.common.logging import configure_logging

#: Where faust keeps each app's data folder unless told otherwise: never the working directory.
LOCAL_DATA = ROOT / ".local" / "faust"


def app_options(*, bootstrap: str, web_port: int, session_timeout: float = 30.0,
                security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Settings every faust app in the project shares; with ``security`` (SASL_SSL), its credentials."""
    return {
        **faust_options(security),
        "broker_session_timeout": session_timeout,
        "broker_heartbeat_interval": max(1.0, session_timeout / 10),
        "broker": f"kafka://{bootstrap}",
        "store": "memory://",
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "consumer_auto_offset_reset": "earliest",
        "topic_disable_leader": True,
        "topic_allow_declare": False,
        "web_host": "127.0.0.1",
        "web_port": web_port,
        "web_in_thread": False,
        "broker_commit_interval": 1.0,
        "Stream": WaitingStream,
    }


class WaitingStream(faust.Stream):
    """faust's stream, whose ``noack_take`` sleeps while nothing arrives.

    faust's own ``noack_take(max_, within)`` wakes every ``within`` seconds whether or not
    anything came (three futures per wake-up, per agent): with the project's 20 ms batching
    window, each idle agent woke 50 times a second. This one waits for the first event of a
    batch with no timeout, then at most ``within`` for the batch to fill: the same batches
    under load, no wake-ups while idle, and a lone event waits at most ``within`` after it
    came rather than until the next tick. Otherwise it is faust-streaming's code as it is
    (``Stream.noack_take``): events are buffered by a processor on the passively drained
    stream, handed over as they are, and acknowledged by the caller."""

    async def noack_take(self, max_: int, within: float) -> AsyncGenerator[Sequence[EventT], None]:  # type: ignore[override]
        buffer: list[EventT] = []
        started = asyncio.Event()  # set by the first event of a batch
        buffer_full = asyncio.Event()
        buffer_consumed = asyncio.Event()
        buffer_consuming: asyncio.Future[None] | None = None
        enable_acks = self.enable_acks
        channel_it = aiter(self.channel)

        async def add_to_buffer(value: Any) -> Any:
            nonlocal buffer_consuming
            try:
                if buffer_consuming is not None:  # the caller is handling a batch: wait for it
                    try:
                        await buffer_consuming
                    finally:
                        buffer_consuming = None
                event = self.current_event
                if event is None:
                    raise RuntimeError("Take buffer found current_event is None")
                buffer.append(event)
                started.set()
                if len(buffer) >= max_:
                    buffer_full.set()
                    buffer_consumed.clear()
                    await self.wait(buffer_consumed)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.exception("Error adding to take buffer: %r", exc)
                await self.crash(exc)
            return value

        self.enable_acks = False  # the caller acknowledges each event once its batch is handled
        self.add_processor(add_to_buffer)
        self._enable_passive(channel_it)  # type: ignore[arg-type]
        try:
            while not self.should_stop:
                await self.wait_for_stopped(started)  # type: ignore[arg-type]
                if buffer and not buffer_full.is_set():
                    await self.wait_for_stopped(buffer_full, timeout=within)  # type: ignore[arg-type]
                if buffer:
                    buffer_consuming = self.loop.create_future()
                    try:
                        yield list(buffer)
                    finally:
                        buffer.clear()
                        started.clear()
                        notify(buffer_consuming)
                        buffer_full.clear()
                        buffer_consumed.set()
        finally:
            self.enable_acks = enable_acks
            self._processors.remove(add_to_buffer)


def data_folder(configured: Path | None, app_id: str) -> str:
    """faust's data folder for an app: the one configured, or ``.local/faust/<app id>``. Its
    parent is created here (faust makes only the last level)."""
    folder = configured if configured is not None else LOCAL_DATA / app_id
    folder.parent.mkdir(parents=True, exist_ok=True)
    return str(folder)


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """A topic whose keys and values reach agents as bytes: decoding is ours, so a message that
    does not decode is dead-lettered with its reason instead of crashing the agent."""
    return app.topic(*names, key_serializer="raw", value_serializer="raw")


class Worker(faust.Worker):
    """faust's worker, with our masked structlog output instead of its own log format."""

    def __init__(self, app: faust.App, *, log_level: str, log_json: bool) -> None:
        self._log_level = log_level
        self._log_json = log_json
        super().__init__(app, loglevel=log_level, redirect_stdouts=False, quiet=True)

    def on_setup_root_logger(self, logger: Any, level: int) -> None:
        configure_logging(self._log_level, json=self._log_json)


def run(app: faust.App, *, log_level: str, log_json: bool, event_loop: str) -> None:
    """The worker, on ``event_loop`` (``CommonSettings.event_loop``): chosen before its loop is made."""
    configure_logging(log_level, json=log_json)
    if event_loop == "uvloop":
        mode.loop.use("uvloop")
    Worker(app, log_level=log_level, log_json=log_json).execute_from_commandline()
