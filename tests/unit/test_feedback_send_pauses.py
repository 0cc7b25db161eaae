"""A provider's answer that arrived while the worker's event loop was held up (a GC pause, a
frozen VM, a SIGSTOP) is never thrown away as a timeout: the timeout measures the provider,
not the worker. The loop is held here with ``time.sleep`` on the loop's own thread, longer than
the send timeout, while the provider call (in its thread) completes."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from schemas import Channel
from services.feedback.senders import AmbiguousSendError, Outgoing, SendGridEmail, Sent, TransientSendError, TwilioSms
from services.feedback.senders.base import call_in_thread

TIMEOUT = 0.05
HELD = TIMEOUT * 8  # the loop is held far longer than the timeout


async def _held_while_answered(started: threading.Event, send: asyncio.Task[Sent]) -> Sent:
    while not started.is_set():  # the call is in its thread
        await asyncio.sleep(0)
    time.sleep(HELD)  # the loop is frozen; the provider answers meanwhile
    return await send


class _Messages:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.created: list[dict[str, Any]] = []

    def create(self, **kwargs: Any) -> Any:
        self.started.set()
        self.created.append(kwargs)
        return SimpleNamespace(sid="SM" + "0" * 32)


async def test_a_twilio_answer_that_came_while_the_loop_was_held_is_a_sent_message() -> None:
    messages = _Messages()
    sms = TwilioSms("AC" + "0" * 32, "token", "+447700900001", timeout=TIMEOUT,
                    client=lambda: SimpleNamespace(messages=messages))
    try:
        send = asyncio.create_task(sms.send(Outgoing(channel=Channel.SMS, to="+447700900123", body="Thank you")))
        sent = await _held_while_answered(messages.started, send)
    finally:
        await sms.close()
    assert sent == Sent("twilio", "SM" + "0" * 32)
    assert len(messages.created) == 1


async def test_a_sendgrid_answer_that_came_while_the_loop_was_held_is_a_sent_message() -> None:
    started = threading.Event()

    def send_mail(mail: Any) -> Any:
        started.set()
        return SimpleNamespace(status_code=202, headers={"X-Message-Id": "abc"})

    email = SendGridEmail("SG.key", "updates@example.police.uk", timeout=TIMEOUT)
    email._client = SimpleNamespace(send=send_mail)
    try:
        send = asyncio.create_task(email.send(Outgoing(channel=Channel.EMAIL, to="a@example.org", body="Thanks",
                                                       subject="Your report")))
        sent = await _held_while_answered(started, send)
    finally:
        await email.close()
    assert sent == Sent("sendgrid", "abc")


async def test_a_call_still_running_after_its_time_is_ambiguous_not_failed() -> None:
    release = threading.Event()
    try:
        with pytest.raises(AmbiguousSendError):
            await call_in_thread(None, lambda: release.wait(5), timeout=0.01)
    finally:
        release.set()


async def test_a_call_that_fails_in_its_thread_raises_its_own_error() -> None:
    def refuse() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await call_in_thread(None, refuse, timeout=1.0)


async def test_a_worker_that_wakes_after_half_its_lease_makes_no_request() -> None:
    """Frozen before the request was made, past half the send's lease: another worker may already
    be asking the provider about the message, so the request is not made at all."""
    messages = _Messages()
    sms = TwilioSms("AC" + "0" * 32, "token", "+447700900001", timeout=TIMEOUT,
                    client=lambda: SimpleNamespace(messages=messages))
    try:
        with pytest.raises(TransientSendError, match="lease passed"):
            await sms.send(Outgoing(channel=Channel.SMS, to="+447700900123", body="Thank you",
                                    deadline=time.monotonic() - 1))
    finally:
        await sms.close()
    assert messages.created == []
