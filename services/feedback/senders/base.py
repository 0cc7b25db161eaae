"""What every sender adapter takes and gives, in words of no provider: an ``Outgoing``
message in, a ``Sent`` receipt out, or a ``TransientSendError`` (worth another try: 429,
5xx, timeouts) or a ``PermanentSendError`` (never worth one) with a ``SendFailure`` reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from schemas import Channel


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


class PermanentSendError(SendError):
    """No retry will help."""

    def __init__(self, detail: str, code: str | None = None, reason: SendFailure = SendFailure.REJECTED) -> None:
        super().__init__(detail, code)
        self.reason = reason


class Sender(Protocol):
    name: str

    async def send(self, message: Outgoing) -> Sent: ...

    async def close(self) -> None: ...


def is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500
