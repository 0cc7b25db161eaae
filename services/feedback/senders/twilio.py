"""Twilio, for SMS: sending, and what its error codes and status callbacks mean in words of
no provider. Everything Twilio-specific the service knows is here."""

from __future__ import annotations

import asyncio

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client as TwilioClient

from schemas import DeliveryOutcome
from services.feedback.senders.base import (
    Outgoing,
    PermanentSendError,
    SendFailure,
    Sent,
    TransientSendError,
    is_transient_status,
)

#: Twilio error codes that mean the same for us whichever way they arrive (API error or callback).
UNSUBSCRIBED = "21610"  # the recipient replied STOP to our number
INVALID_ADDRESS_CODES = frozenset({"21211", "21612", "21614"})  # invalid 'To', unreachable, not a mobile
#: Status callbacks (``MessageStatus``) after which the message will never arrive.
UNDELIVERED_STATES = frozenset({"undelivered", "failed"})


def failure_reason(code: str | None) -> SendFailure:
    """What a Twilio error code of a refused send means."""
    if code == UNSUBSCRIBED:
        return SendFailure.OPTED_OUT
    if code in INVALID_ADDRESS_CODES:
        return SendFailure.INVALID_ADDRESS
    return SendFailure.REJECTED


def callback_outcome(status: str, error_code: str | None) -> tuple[DeliveryOutcome, bool]:
    """A status callback's ``MessageStatus`` and ``ErrorCode``: (outcome, recipient opted out)."""
    if status == "delivered":
        outcome = DeliveryOutcome.DELIVERED
    elif status in UNDELIVERED_STATES:
        outcome = DeliveryOutcome.UNDELIVERED
    else:
        outcome = DeliveryOutcome.PENDING
    return outcome, error_code == UNSUBSCRIBED


class TwilioSms:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str,
                 base_url: str | None = None, timeout: float = 10.0, status_callback: str | None = None) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, from_number
        self._status_callback = status_callback
        self._base_url = base_url
        self._timeout = timeout
        self._client: TwilioClient | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def _get_client(self) -> TwilioClient:
        # The async HTTP client opens an aiohttp session, so it is made inside the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self._timeout)
            self._client = TwilioClient(self._sid, self._token, http_client=self._http, environment={})
            if self._base_url:
                self._client.api.base_url = self._base_url.rstrip("/")
        return self._client

    async def send(self, message: Outgoing) -> Sent:
        client = self._get_client()
        extra = {"status_callback": self._status_callback} if self._status_callback else {}
        try:
            # The async Twilio client ignores its own ``timeout`` (it hands aiohttp timeout=None, which
            # disables aiohttp's), so the limit is enforced here.
            created = await asyncio.wait_for(
                client.messages.create_async(to=message.to, from_=self._from, body=message.body, **extra),
                timeout=self._timeout)
        except TwilioRestException as exc:
            detail = f"twilio {exc.status} code {exc.code}"
            if is_transient_status(exc.status):
                raise TransientSendError(detail, str(exc.code)) from exc
            raise PermanentSendError(detail, str(exc.code), failure_reason(str(exc.code))) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientSendError(f"twilio unreachable: {type(exc).__name__}") from exc
        return Sent(self.name, str(created.sid))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
