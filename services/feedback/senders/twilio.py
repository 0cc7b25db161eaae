"""Twilio, for SMS: sending, and what its error codes and status callbacks mean in words of
no provider. Everything Twilio-specific the service knows is here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient
from urllib3.exceptions import ConnectTimeoutError

from schemas import DeliveryOutcome
from services.feedback.senders.base import (
    AmbiguousSendError,
    Found,
    Lookup,
    NotFound,
    Outgoing,
    PermanentSendError,
    SendFailure,
    Sent,
    TransientSendError,
    Unknown,
    call_in_thread,
    is_transient_status,
)
from services.feedback.senders.fenced_http import FencedAdapter

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


def reached_provider(exc: requests.RequestException) -> bool:
    """Whether a failed request may have reached Twilio: False only when the connection was
    never made (refused, unresolvable, connect timeout), so the request was never written."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too
    return True


#: Messages of the list read per page, and pages read at most, when looking for one message.
LOOKUP_PAGE_SIZE = 50
LOOKUP_LIMIT = 500
#: Twilio filters ``DateSent`` by day (GMT); the list is read back to a little before ``since``.
LOOKUP_SLACK = timedelta(minutes=5)


def is_ours(record: Any, message: Outgoing, sender: str) -> bool:
    """Whether a Message resource is ``message``: same recipient, our number, outbound, and the
    same body. The body is rendered once, stored with the message and sent as stored, and names
    the report (and what it says about it), so two messages to one person do not share it."""
    return (str(record.to) == message.to and str(record.from_) == sender
            and str(record.direction or "").startswith("outbound") and (record.body or "") == message.body)


class TwilioSms:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str,
                 base_url: str | None = None, timeout: float = 10.0, status_callback: str | None = None,
                 client: Callable[[], TwilioClient] | None = None, threads: int = 32) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, from_number
        self._status_callback = status_callback
        self._base_url = base_url
        self._timeout = timeout
        self._make_client = client or self._new_client
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="twilio")

    def _new_client(self) -> TwilioClient:
        # The blocking client, bounded by its own socket timeouts (connect and each read), in a
        # thread: its timeout measures Twilio, never a pause of the event loop.
        # Its connections write nothing after the send's deadline (``fenced_http``).
        http_client = TwilioHttpClient(timeout=self._timeout)
        assert http_client.session is not None  # pooled connections: the default
        for scheme in ("http://", "https://"):
            http_client.session.mount(scheme, FencedAdapter())
        client = TwilioClient(self._sid, self._token, http_client=http_client, environment={})
        if self._base_url:
            client.api.base_url = self._base_url.rstrip("/")
        return client

    def _client(self) -> TwilioClient:
        # One client (and connection pool) per thread.
        client: TwilioClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._make_client()
        return client

    async def send(self, message: Outgoing) -> Sent:
        extra = {"status_callback": self._status_callback} if self._status_callback else {}

        def create() -> Any:
            with message.fenced():
                return self._client().messages.create(to=message.to, from_=self._from, body=message.body, **extra)

        try:
            created = await call_in_thread(self._executor, create, timeout=self._timeout)
        except TwilioRestException as exc:
            detail = f"twilio {exc.status} code {exc.code}"
            if is_transient_status(exc.status):
                raise TransientSendError(detail, str(exc.code)) from exc
            raise PermanentSendError(detail, str(exc.code), failure_reason(str(exc.code))) from exc
        except requests.RequestException as exc:
            detail = f"twilio {'no answer' if reached_provider(exc) else 'unreachable'}: {type(exc).__name__}"
            if reached_provider(exc):
                raise AmbiguousSendError(detail) from exc
            raise TransientSendError(detail) from exc
        return Sent(self.name, str(created.sid))

    async def find(self, message: Outgoing, since: datetime) -> Lookup:
        """Twilio's Messages list, filtered by ``To``, our ``From`` and ``DateSent>`` the day of
        ``since`` (Twilio filters by day), read newest first until one is ``message`` (``is_ours``)
        or the list reaches back before ``since``. Only a list read to its end is a ``NotFound``."""
        since = since.astimezone(UTC)

        def look() -> Lookup:
            records = self._client().messages.stream(to=message.to, from_=self._from,
                                                     date_sent_after=since.date(), page_size=LOOKUP_PAGE_SIZE)
            for seen, record in enumerate(records, start=1):
                if is_ours(record, message, self._from):
                    return Found(str(record.sid))
                created = record.date_created
                if created is not None and created < since - LOOKUP_SLACK:
                    return NotFound()
                if seen >= LOOKUP_LIMIT:
                    return Unknown(f"twilio: more than {LOOKUP_LIMIT} messages to the number since the send")
            return NotFound()

        try:
            return await call_in_thread(self._executor, look, timeout=self._timeout)
        except (TwilioException, requests.RequestException, AmbiguousSendError) as exc:
            return Unknown(f"twilio look-up failed: {type(exc).__name__}", retryable=True)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
