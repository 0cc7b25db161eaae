"""The fake providers in a process of their own, so that their HTTP handling does not share a
GIL with the benchmark's load generator: ``FakeProviders`` starts it and asks it, over a pipe,
how many messages it accepted and when."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

from harness.processes import provider_settings


def _serve(conn: Connection) -> None:
    from harness.providers import FakeSendGrid, FakeTwilio

    with FakeTwilio() as twilio, FakeSendGrid() as sendgrid:
        conn.send((twilio.url, sendgrid.url))
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(len(twilio.messages()) + len(sendgrid.mails()))
            elif command == "sms":
                conn.send([(m.body or "", m.received_at.timestamp()) for m in twilio.messages()])
            else:
                conn.send(None)
                return


class FakeProviders:
    """FakeTwilio and FakeSendGrid (answering at once) in a child process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process: Any = context.Process(target=_serve, args=(child,), name="bench-fake-providers", daemon=True)
        self.twilio_url = ""
        self.sendgrid_url = ""

    def start(self) -> Self:
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the fake providers did not start")
        self.twilio_url, self.sendgrid_url = self._conn.recv()
        return self

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def count(self) -> int:
        """Messages accepted so far, SMS and email."""
        return int(self._ask("count"))

    def sms(self) -> list[tuple[str, float]]:
        """Every accepted SMS: (body, Unix time it arrived)."""
        return list(self._ask("sms"))

    def stop(self) -> None:
        if self._process.is_alive():
            self._ask("stop")
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def env(self) -> dict[str, str]:
        """The feedback worker's settings for these providers."""
        return provider_settings(self.twilio_url, self.sendgrid_url)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
