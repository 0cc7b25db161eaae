"""What every sender adapter takes and gives, in words of no provider: an ``Outgoing``
message in, a ``Sent`` receipt out, or a ``TransientSendError`` (the request never reached
the provider, or it answered 429/5xx: worth another try), an ``AmbiguousSendError`` (the request
may have reached it: a timeout after it was written, a connection lost before the answer; never
tried again blindly) or a ``PermanentSendError`` (never worth one) with a ``SendFailure`` reason.

``find`` asks the provider whether a message it may have accepted is there: ``Found``,
``NotFound`` (confirmed absent) or ``Unknown`` (no way to tell).

A provider call runs in a thread (``call_in_thread``) whose HTTP client's own socket timeouts
bound it: they measure the provider, not the event loop. A loop that was late (a GC pause, a
frozen VM, a SIGSTOP) never discards a reply that has arrived.

A send is fenced by its lease (``Outgoing.fenced``): the provider clients' connections check the
deadline before each write of the request (``senders.fenced_http``), so a worker frozen anywhere
before its request is on the wire (building the client, waiting for a pooled connection,
connecting) writes nothing once it wakes after the deadline, when another worker may already be
asking the provider about the message.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from schemas import Channel

T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    channel: Channel
    to: str
    body: str
    subject: str | None = None
    html: str | None = None
    reference: str | None = None
    #: Extra email headers (List-Unsubscribe); ignored for SMS.
    headers: tuple[tuple[str, str], ...] = ()
    #: An email's per-message reply address (``services.common.reply_address``); ignored for SMS.
    reply_to: str | None = None
    #: A ``time.monotonic()`` reading well before the send's lease ends: no byte of the request is
    #: written after it (``LeasePassed``), since another worker may soon ask the provider about the
    #: message. (The monotonic clock runs on while a process is stopped.)
    deadline: float | None = None

    @contextmanager
    def fenced(self) -> Iterator[None]:
        """Around the provider call, in its thread: refuses at once if the deadline has passed, and
        makes every write of the request check it (``check_write_deadline``)."""
        check_deadline(self.deadline)
        token = _WRITE_DEADLINE.set(self.deadline)
        try:
            yield
        finally:
            _WRITE_DEADLINE.reset(token)


#: The deadline of the send the current context is making (``Outgoing.fenced``); None: unfenced.
_WRITE_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("write_deadline", default=None)


def check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise LeasePassed("the send's lease passed before its request was written: not sent")


def check_write_deadline() -> None:
    """Called by a fenced connection just before it writes (``senders.fenced_http``)."""
    check_deadline(_WRITE_DEADLINE.get())


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: str
    #: Written to the local outbox rather than handed to a provider.
    local: bool = False


class SendFailure(StrEnum):
    """Why a provider refused a message for good."""

    #: The recipient unsubscribed from us at the provider: record the opt-out.
    OPTED_OUT = "opted_out"
    #: The address cannot receive messages (not a mobile number, malformed, blocked).
    INVALID_ADDRESS = "invalid_address"
    #: Any other refusal.
    REJECTED = "rejected"


class SendError(Exception):
    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        #: The provider's own error code, for the record only.
        self.code = code


class TransientSendError(SendError):
    """Another try may succeed."""


class LeasePassed(TransientSendError):
    """The send's deadline passed before its request was (wholly) written: the provider has not got
    it. A request cut off after its first bytes is incomplete, and no HTTP server acts on that."""


class AmbiguousSendError(SendError):
    """The request may have reached the provider, and whether it accepted it is unknown: ask it
    (``find``) before any other try."""


class PermanentSendError(SendError):
    """No retry will help."""

    def __init__(self, detail: str, code: str | None = None, reason: SendFailure = SendFailure.REJECTED) -> None:
        super().__init__(detail, code)
        self.reason = reason


@dataclass(frozen=True)
class Found:
    """The provider has the message."""

    provider_id: str


@dataclass(frozen=True)
class NotFound:
    """The provider confirmed it has no such message."""


@dataclass(frozen=True)
class Unknown:
    """The provider cannot tell (no look-up, or the look-up failed): why, whether asking again
    later may tell, and whether this provider can be asked at all (``no_look_up``: it offers no
    way to ask, so an answer will never come)."""

    reason: str
    retryable: bool = False
    no_look_up: bool = False


Lookup = Found | NotFound | Unknown


class Sender(Protocol):
    name: str

    async def send(self, message: Outgoing) -> Sent: ...

    async def find(self, message: Outgoing, since: datetime) -> Lookup:
        """Whether the provider has ``message``, handed to it at or after ``since``."""
        ...

    async def close(self) -> None: ...


def is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


async def call_in_thread(executor: Executor | None, call: Callable[[], T], *, timeout: float) -> T:
    """``call()`` (a blocking provider call bounded by its client's own socket timeouts) in a
    thread of ``executor``. A call that has finished is never discarded: the loop waits for
    the thread, and gives it ``timeout`` more each time it wakes to find it still running,
    twice at most; a loop woken late (paused longer than ``timeout``) first checks whether the
    answer is already there. Only a call still running after that is abandoned, as
    ``AmbiguousSendError`` (it may have reached the provider)."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(executor, functools.partial(contextvars.copy_context().run, call))
    for _ in range(3):
        # ``asyncio.wait`` never cancels the future on its timeout (``wait_for`` does, since
        # 3.12 even when the answer had arrived while the loop was held up).
        await asyncio.wait({future}, timeout=timeout)
        if future.done():
            return future.result()
    future.cancel()
    raise AmbiguousSendError(f"no answer within {timeout * 3:g}s")
