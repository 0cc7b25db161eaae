"""Local fake Twilio (SMS) and SendGrid (email) HTTP servers for integration and end-to-end tests.

Each runs the standard library's ``ThreadingHTTPServer`` in a background thread on 127.0.0.1 and an
OS-chosen port (``.url`` tells where), answers like the real provider for the one call the project
makes, records what it accepted, and fails on request::

    with FakeTwilio() as twilio, FakeSendGrid() as sendgrid:
        env = {"TWILIO_API_BASE_URL": twilio.url, "SENDGRID_API_HOST": sendgrid.url, ...}
        twilio.fail_next(2, status=429)                  # the next two requests get 429
        twilio.fail_next(1, status=500, to="+447700900123")  # the next one naming that number gets 500
        twilio.fail_for("+447700900666", 400, 21610)     # that number is unsubscribed
        ...
        twilio.wait_for(1)                               # one message accepted (polls, no blind sleep)
        assert twilio.messages(to="+447700900123")[0].body == "..."

By hand: ``python -m harness.providers --twilio-port 18010 --sendgrid-port 18011``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

HOST = "127.0.0.1"
#: The longest a held request waits for ``release()`` (a test that forgets to release still ends).
HOLD_LIMIT = 120.0

R = TypeVar("R")


@dataclass(frozen=True)
class Failure:
    """An injected failure: the HTTP status and, for Twilio, the error code of the JSON body."""

    status: int
    code: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class FailedRequest:
    """A request the fake answered with an error (injected, or a bad request / missing auth)."""

    path: str
    status: int
    code: int | None
    message: str
    recipients: tuple[str, ...]
    payload: Any
    received_at: datetime


@dataclass(frozen=True)
class SmsMessage:
    """One message FakeTwilio accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str | None
    status_callback: str | None
    messaging_service_sid: str | None
    form: dict[str, list[str]]
    received_at: datetime


@dataclass(frozen=True)
class Mail:
    """One mail FakeSendGrid accepted (all personalizations' recipients flattened into ``to``)."""

    message_id: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    from_: str | None
    subject: str | None
    text: str | None
    html: str | None
    headers: dict[str, str]
    custom_args: dict[str, str]
    categories: tuple[str, ...]
    payload: dict[str, Any]
    received_at: datetime


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a worker sending a slice of 16 at once would have
    # connections dropped and retried a second later, and measure the fake, not itself.
    request_queue_size = 128
    fake: _FakeServer[Any]

    def server_activate(self) -> None:
        super().server_activate()
        self._lock = threading.Lock()
        #: Open client connections, and whether each is between requests (idle, kept alive).
        self._connections: dict[socket.socket, bool] = {}
        self.closing = False

    def track(self, connection: socket.socket, *, idle: bool) -> None:
        with self._lock:
            if connection not in self._connections:
                self.fake._count_connection()
            self._connections[connection] = idle

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def close_connections(self) -> None:
        """Hang up every kept-alive connection waiting for its next request, as a provider going
        away does (a request being answered is answered, then its connection closed): a client
        then finds the provider gone instead of a handler still serving it."""
        with self._lock:
            self.closing = True
            idle = [connection for connection, waiting in self._connections.items() if waiting]
        for connection in idle:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its answer (a worker killed or timed out mid-call) is
        what the fault tests do on purpose: not worth a traceback. Anything else is reported."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Kept-alive connections, as the real providers keep them: a client's connection pool is
    # measured as it would be in production. stop() hangs them up (``close_connections``).
    protocol_version = "HTTP/1.1"
    # An answer goes out as two writes (head, then body): with Nagle's algorithm the body waits for
    # the client's delayed acknowledgement of the head, about 40 ms, on every kept-alive request.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, idle=True)

    def finish(self) -> None:
        self.server.untrack(self.connection)
        super().finish()

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        self.server.track(self.connection, idle=False)
        try:
            self._answer(method)
        finally:
            if self.server.closing:
                self.close_connection = True
            self.server.track(self.connection, idle=True)

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if len(raw) < length:  # the client went away mid-request: like any HTTP server, act on nothing
            self.server.fake._count_cut_off()
            self.close_connection = True
            return
        try:
            reply = self.server.fake._handle(method, self.path, dict(self.headers.items()), raw)
        except Exception as exc:  # a bug in the fake must show, not hang the client
            reply = _Reply(500, f"fake server error: {exc!r}".encode(), {"Content-Type": "text/plain"})
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body and method != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"[{type(self.server.fake).__name__}] {format % args}\n")


class _FakeServer(Generic[R]):
    """What both fakes share: the server thread, failure injection, records and waiting."""

    def __init__(self, port: int = 0, *, delay: float = 0.0, verbose: bool = False) -> None:
        self._port = port
        #: Seconds to wait before answering each request (simulates a slow provider).
        self.delay = delay
        self.verbose = verbose
        self._lock = threading.Lock()
        self._in_flight = 0
        self._cut_off = 0
        self._connections = 0
        self._held_to: list[tuple[str, ...]] = []  # the recipients of each send being held
        self._open = threading.Event()
        self._open.set()
        self._records: list[R] = []
        self._failures: list[FailedRequest] = []
        self._fail_next: list[tuple[Failure, str | None]] = []  # and the recipient it is kept for, if any
        self._fail_for: dict[str, Failure] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server((HOST, self._port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # -- failure injection -----------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, code: int | None = None,
                  message: str | None = None, *, to: str | None = None) -> None:
        """Make the next ``n`` requests (after authentication) fail with ``status``; with ``to``, the
        next ``n`` naming that recipient (sends and look-ups), whatever else the fake is asked meanwhile."""
        with self._lock:
            self._fail_next.extend((Failure(status, code, message), self._key(to) if to else None)
                                   for _ in range(n))

    def fail_for(self, recipient: str, status: int = 400, code: int | None = None,
                 message: str | None = None) -> None:
        """Make every request to ``recipient`` fail, until ``reset()`` or ``clear_failures()``."""
        with self._lock:
            self._fail_for[self._key(recipient)] = Failure(status, code, message)

    def clear_failures(self) -> None:
        """Drop pending ``fail_next`` and every ``fail_for``; keep the records."""
        with self._lock:
            self._fail_next.clear()
            self._fail_for.clear()

    def reset(self) -> None:
        """Forget everything: records, failures, pending injections, and set ``delay`` back to 0."""
        with self._lock:
            self._records.clear()
            self._failures.clear()
            self._fail_next.clear()
            self._fail_for.clear()
            self.delay = 0.0
        self._open.set()

    @property
    def failures(self) -> list[FailedRequest]:
        with self._lock:
            return list(self._failures)

    # -- waiting ---------------------------------------------------------------------------------

    def _condition(self, predicate_or_count: int | Callable[[], bool]) -> Callable[[], bool]:
        if callable(predicate_or_count):
            return predicate_or_count
        count = predicate_or_count
        return lambda: self._record_count() >= count

    def wait_for(self, predicate_or_count: int | Callable[[], bool], timeout: float = 10.0,
                 interval: float = 0.02) -> list[R]:
        """Poll until ``predicate()`` is true, or until at least that many requests were accepted.
        Returns the accepted records; raises ``TimeoutError`` (saying what was seen) otherwise."""
        condition = self._condition(predicate_or_count)
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_detail(predicate_or_count, timeout))
            time.sleep(interval)
        return self._snapshot()

    async def wait_for_async(self, predicate_or_count: int | Callable[[], bool], timeout: float = 10.0,
                             interval: float = 0.02) -> list[R]:
        """``wait_for`` for async tests: sleeps with ``asyncio.sleep`` so the loop keeps running."""
        condition = self._condition(predicate_or_count)
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_detail(predicate_or_count, timeout))
            await asyncio.sleep(interval)
        return self._snapshot()

    def _timeout_detail(self, predicate_or_count: int | Callable[[], bool], timeout: float) -> str:
        what = (f"{predicate_or_count} accepted request(s)" if isinstance(predicate_or_count, int)
                else "the condition")
        return (f"{type(self).__name__}: waited {timeout}s for {what}; accepted {self._record_count()}, "
                f"failed {len(self.failures)}")

    # -- internals -------------------------------------------------------------------------------

    def _record_count(self) -> int:
        with self._lock:
            return len(self._records)

    def _snapshot(self) -> list[R]:
        with self._lock:
            return list(self._records)

    @staticmethod
    def _key(recipient: str) -> str:
        return recipient.strip().lower()

    def _pick_failure(self, recipients: Sequence[str]) -> Failure | None:
        keys = {self._key(recipient) for recipient in recipients}
        with self._lock:
            for i, (next_failure, kept_for) in enumerate(self._fail_next):
                if kept_for is None or kept_for in keys:
                    del self._fail_next[i]
                    return next_failure
            for recipient in recipients:
                failure = self._fail_for.get(self._key(recipient))
                if failure is not None:
                    return failure
        return None

    def _record(self, record: R) -> None:
        with self._lock:
            self._records.append(record)

    def _record_failure(self, path: str, status: int, code: int | None, message: str,
                        recipients: Sequence[str], payload: Any) -> None:
        with self._lock:
            self._failures.append(FailedRequest(path, status, code, message, tuple(recipients), payload,
                                                datetime.now(UTC)))

    def hold(self) -> None:
        """Keep every send from now on unanswered until ``release()`` (at most ``HOLD_LIMIT``
        seconds): a test waits for a steady state ("every send taken is at the provider")
        instead of racing a fixed delay. Look-ups (``GET``) still answer, so a worker reconciling
        earlier sends is not mistaken for one sending."""
        self._open.clear()

    def release(self, *, settle: float = 10.0) -> None:
        """Answer the held requests and wait (up to ``settle`` seconds) until they are answered."""
        self._open.set()
        deadline = time.monotonic() + settle
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    @property
    def in_flight(self) -> int:
        """Requests received and not yet answered (a test can kill a client mid-call)."""
        with self._lock:
            return self._in_flight

    @property
    def cut_off(self) -> int:
        """Requests whose client went away before their whole body arrived: dropped unanswered."""
        with self._lock:
            return self._cut_off

    @property
    def connections(self) -> int:
        """Client connections accepted so far (a client keeping its connection alive opens one)."""
        with self._lock:
            return self._connections

    def _count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def _count_cut_off(self) -> None:
        with self._lock:
            self._cut_off += 1

    def held_to(self, recipients: Sequence[str]) -> int:
        """Sends received and not yet answered (held, see ``hold()``) addressed to any of
        ``recipients``."""
        wanted = set(recipients)
        with self._lock:
            return sum(1 for to in self._held_to if wanted.intersection(to))

    def send_recipients(self, method: str, path: str, raw: bytes) -> tuple[str, ...] | None:
        """The recipients of a request that sends a message; None for any other request."""
        return None

    def _handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        recipients = self.send_recipients(method, path, raw)
        with self._lock:
            self._in_flight += 1
            if recipients is not None:
                self._held_to.append(recipients)
        try:
            if self.delay > 0:
                time.sleep(self.delay)
            if recipients is not None:
                self._open.wait(HOLD_LIMIT)
            return self.handle(method, path, {k.lower(): v for k, v in headers.items()}, raw)
        finally:
            with self._lock:
                self._in_flight -= 1
                if recipients is not None:
                    self._held_to.remove(recipients)

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        raise NotImplementedError


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


# ----------------------------------------------------------------------------------------------------
# Twilio
# ----------------------------------------------------------------------------------------------------

_TWILIO_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")

#: Twilio's own wording for the errors the project meets (https://www.twilio.com/docs/api/errors).
TWILIO_ERRORS: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}
_TWILIO_DEFAULT_CODE = {400: 21211, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€\f")


def sms_segments(body: str) -> int:
    """How many segments Twilio bills for ``body`` (GSM-7 when it fits, UCS-2 otherwise)."""
    if all(ch in _GSM7 or ch in _GSM7_EXT for ch in body):
        units, single, multi = sum(2 if ch in _GSM7_EXT else 1 for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def _basic_auth_ok(headers: dict[str, str], expected_password: str | None) -> bool:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic" or not token:
        return False
    try:
        user, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    if expected_password is not None:
        return bool(user) and password == expected_password
    return bool(sep and user and password)


def _twilio_time(at: datetime) -> str:
    return format_datetime(at, usegmt=True).replace("GMT", "+0000")


def _twilio_day(value: str) -> str | None:
    """The day of a ``DateSent`` filter: Twilio takes ``YYYY-MM-DD`` or a date-time, and filters by day (GMT)."""
    day = value.strip()[:10]
    return day if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else None


class FakeTwilio(_FakeServer[SmsMessage]):
    """``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (send) and ``GET`` of the same path
    (the Messages list: ``To``, ``From``, ``DateSent``/``DateSent<``/``DateSent>`` by day, ``PageSize``,
    ``Page``, ``PageToken``; newest first, with Twilio's paging fields) the way Twilio answers them.
    Listed messages are ``sent``, with ``date_sent`` the moment the fake accepted them.

    Any non-empty basic-auth credentials pass, or, when ``auth_token`` is given, only that token."""

    name: ClassVar[str] = "twilio"

    def __init__(self, port: int = 0, *, auth_token: str | None = None, delay: float = 0.0,
                 verbose: bool = False) -> None:
        super().__init__(port, delay=delay, verbose=verbose)
        self.auth_token = auth_token
        self._lookups: list[dict[str, list[str]]] = []

    def messages(self, to: str | None = None) -> list[SmsMessage]:
        records = self._snapshot()
        return records if to is None else [m for m in records if m.to == to]

    @property
    def lookups(self) -> list[dict[str, list[str]]]:
        """The query of each Messages list request answered."""
        with self._lock:
            return list(self._lookups)

    @staticmethod
    def error_body(status: int, code: int | None = None, message: str | None = None) -> dict[str, Any]:
        if code is None:
            code = _TWILIO_DEFAULT_CODE.get(status, 20500 if status >= 500 else 21211)
        return {"code": code, "message": message or TWILIO_ERRORS.get(code, HTTPStatus(status).phrase),
                "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}

    def _error(self, path: str, status: int, code: int | None, message: str | None,
               recipients: Sequence[str], payload: Any) -> _Reply:
        body = self.error_body(status, code, message)
        self._record_failure(path, status, body["code"], body["message"], recipients, payload)
        headers = {"Retry-After": "1"} if status == 429 else {}
        return _json(status, body, headers)

    def send_recipients(self, method: str, path: str, raw: bytes) -> tuple[str, ...] | None:
        if method != "POST" or _TWILIO_MESSAGES.match(urlsplit(path).path) is None:
            return None
        return tuple(parse_qs(raw.decode("utf-8", errors="replace")).get("To", []))

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        route = urlsplit(path).path
        match = _TWILIO_MESSAGES.match(route)
        if method not in ("POST", "GET") or match is None:
            return self._error(route, 404, 20404, f"The requested resource {route} was not found", (), None)
        if method == "GET":
            return self._list(match.group("sid"), path, headers)
        form = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)

        def first(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        to = first("To")
        recipients = (to,) if to else ()
        if not _basic_auth_ok(headers, self.auth_token):
            return self._error(route, 401, 20003, None, recipients, form)
        failure = self._pick_failure(recipients)
        if failure is not None:
            return self._error(route, failure.status, failure.code, failure.message, recipients, form)
        sender, service = first("From"), first("MessagingServiceSid")
        body = first("Body")
        if not to:
            return self._error(route, 400, 21604, None, recipients, form)
        if not sender and not service:
            return self._error(route, 400, 21603, None, recipients, form)
        if not body and not form.get("MediaUrl") and not first("ContentSid"):
            return self._error(route, 400, 21602, None, recipients, form)

        record = SmsMessage(sid="SM" + secrets.token_hex(16), account_sid=match.group("sid"), to=to, from_=sender,
                            body=body, status_callback=first("StatusCallback"), messaging_service_sid=service,
                            form=form, received_at=datetime.now(UTC))
        self._record(record)
        return _json(201, self._resource(record, listed=False))

    @staticmethod
    def _resource(record: SmsMessage, *, listed: bool) -> dict[str, Any]:
        """A Message resource: as the send answers it (``queued``, not yet sent) or as the list
        shows it later (``sent``, with ``date_sent``)."""
        at = _twilio_time(record.received_at)
        account_sid, sid = record.account_sid, record.sid
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": record.body or "",
            "date_created": at,
            "date_sent": at if listed else None,
            "date_updated": at,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": record.from_,
            "messaging_service_sid": record.messaging_service_sid,
            "num_media": str(len(record.form.get("MediaUrl", []))),
            "num_segments": str(sms_segments(record.body or "")),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "sent" if listed else "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": record.to,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }

    def _list(self, account_sid: str, path: str, headers: dict[str, str]) -> _Reply:
        """The Messages list, newest first, a page at a time."""
        route, query = urlsplit(path).path, parse_qs(urlsplit(path).query, keep_blank_values=True)

        def first(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        if not _basic_auth_ok(headers, self.auth_token):
            return self._error(route, 401, 20003, None, (), dict(query))
        with self._lock:
            self._lookups.append(dict(query))
        to = first("To")
        failure = self._pick_failure([to] if to else [])
        if failure is not None:
            return self._error(route, failure.status, failure.code, failure.message, (), dict(query))
        try:
            size = int(first("PageSize") or 50)
            page = int(first("Page") or 0)
        except ValueError:
            return self._error(route, 400, 20001, "Invalid paging parameter", (), dict(query))
        if not 1 <= size <= 1000 or page < 0:
            return self._error(route, 400, 20001, "Invalid paging parameter", (), dict(query))
        days = {name: _twilio_day(first(name) or "") for name in ("DateSent", "DateSent<", "DateSent>")
                if first(name) is not None}
        if any(day is None for day in days.values()):
            return self._error(route, 400, 20001, "Invalid DateSent", (), dict(query))

        def kept(m: SmsMessage) -> bool:
            day = m.received_at.date().isoformat()
            return (m.account_sid == account_sid
                    and (first("To") is None or m.to == first("To"))
                    and (first("From") is None or m.from_ == first("From"))
                    and (days.get("DateSent") is None or day == days["DateSent"])
                    and (days.get("DateSent>") is None or day >= str(days["DateSent>"]))
                    and (days.get("DateSent<") is None or day <= str(days["DateSent<"])))

        found = sorted((m for m in self._snapshot() if kept(m)), key=lambda m: m.received_at, reverse=True)
        chunk = found[page * size:(page + 1) * size]
        filters = [(k, v) for k, v in ((k, first(k)) for k in ("To", "From", "DateSent", "DateSent<", "DateSent>"))
                   if v is not None]

        def uri(number: int, token: bool = True) -> str:
            paging = [("PageSize", str(size)), ("Page", str(number))]
            paging += [("PageToken", f"PA{number}")] if token else []
            return f"{route}?{urlencode([*filters, *paging])}"

        return _json(200, {
            "messages": [self._resource(m, listed=True) for m in chunk],
            "end": page * size + max(len(chunk) - 1, 0),
            "first_page_uri": uri(0, token=False),
            "next_page_uri": uri(page + 1) if (page + 1) * size < len(found) else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": page * size,
            "uri": uri(page),
        })


# ----------------------------------------------------------------------------------------------------
# SendGrid
# ----------------------------------------------------------------------------------------------------

_SENDGRID_DEFAULT_MESSAGE = {
    400: "Bad Request",
    401: "The provided authorization grant is invalid, expired, or revoked",
    403: "access forbidden",
    404: "not found",
    413: "too big",
    429: "too many requests",
    500: "internal server error",
    503: "service unavailable",
}


def _emails(entries: Any) -> tuple[str, ...]:
    if not isinstance(entries, list):
        return ()
    return tuple(e["email"] for e in entries if isinstance(e, dict) and isinstance(e.get("email"), str))


class FakeSendGrid(_FakeServer[Mail]):
    """``POST /v3/mail/send`` the way SendGrid answers it.

    Any non-empty bearer token passes, or, when ``api_key`` is given, only that key."""

    name: ClassVar[str] = "sendgrid"

    def __init__(self, port: int = 0, *, api_key: str | None = None, delay: float = 0.0,
                 verbose: bool = False) -> None:
        super().__init__(port, delay=delay, verbose=verbose)
        self.api_key = api_key

    def mails(self, to: str | None = None) -> list[Mail]:
        records = self._snapshot()
        if to is None:
            return records
        key = self._key(to)
        return [m for m in records if key in {self._key(a) for a in m.to}]

    @staticmethod
    def error_body(status: int, message: str | None = None, field: str | None = None) -> dict[str, Any]:
        text = message or _SENDGRID_DEFAULT_MESSAGE.get(status, HTTPStatus(status).phrase)
        return {"errors": [{"message": text, "field": field, "help": None}]}

    def _error(self, path: str, status: int, message: str | None, recipients: Sequence[str], payload: Any,
               field: str | None = None, code: int | None = None) -> _Reply:
        body = self.error_body(status, message, field)
        self._record_failure(path, status, code, body["errors"][0]["message"], recipients, payload)
        return _json(status, body)

    def send_recipients(self, method: str, path: str, raw: bytes) -> tuple[str, ...] | None:
        if method != "POST" or urlsplit(path).path != "/v3/mail/send":
            return None
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            return ()
        personalizations = payload.get("personalizations") if isinstance(payload, dict) else None
        return tuple(a for p in personalizations or [] if isinstance(p, dict) for a in _emails(p.get("to")))

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        route = urlsplit(path).path
        if method != "POST" or route != "/v3/mail/send":
            return self._error(route, 404, None, (), None)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        personalizations = payload.get("personalizations") if isinstance(payload, dict) else None
        recipients = [a for p in personalizations or [] if isinstance(p, dict) for a in _emails(p.get("to"))]
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._error(route, 401, "authorization required", recipients, payload)
        if self.api_key is not None and token.strip() != self.api_key:
            return self._error(route, 401, None, recipients, payload)
        failure = self._pick_failure(recipients)
        if failure is not None:
            return self._error(route, failure.status, failure.message, recipients, payload, code=failure.code)
        if not isinstance(payload, dict):
            return self._error(route, 400, "Bad Request", recipients, payload)
        problem = self._validate(payload, recipients)
        if problem is not None:
            field, message = problem
            return self._error(route, 400, message, recipients, payload, field=field)

        assert isinstance(personalizations, list)
        content = payload.get("content") or []
        text = next((c.get("value") for c in content if c.get("type") == "text/plain"), None)
        html = next((c.get("value") for c in content if c.get("type") == "text/html"), None)
        headers_of_mail: dict[str, str] = dict(payload.get("headers") or {})
        custom_args: dict[str, str] = dict(payload.get("custom_args") or {})
        subject = payload.get("subject")
        for p in personalizations:
            headers_of_mail.update(p.get("headers") or {})
            custom_args.update(p.get("custom_args") or {})
            subject = p.get("subject") or subject
        message_id = secrets.token_urlsafe(16)[:22]
        self._record(Mail(
            message_id=message_id,
            to=tuple(recipients),
            cc=tuple(a for p in personalizations for a in _emails(p.get("cc"))),
            bcc=tuple(a for p in personalizations for a in _emails(p.get("bcc"))),
            from_=(payload.get("from") or {}).get("email"),
            subject=subject,
            text=text,
            html=html,
            headers=headers_of_mail,
            custom_args=custom_args,
            categories=tuple(payload.get("categories") or ()),
            payload=payload,
            received_at=datetime.now(UTC),
        ))
        return _Reply(202, b"", {"X-Message-Id": message_id})

    @staticmethod
    def _validate(payload: dict[str, Any], recipients: Sequence[str]) -> tuple[str, str] | None:
        """The checks SendGrid makes that a client is likely to trip; (field, message) or None."""
        personalizations = payload.get("personalizations")
        if not isinstance(personalizations, list) or not personalizations:
            return ("personalizations",
                    "The personalizations field is required and must have at least one personalization.")
        if not recipients or any(not _emails(p.get("to")) for p in personalizations if isinstance(p, dict)):
            return ("personalizations.0.to",
                    "The to array is required for all personalization objects, and must have at least one "
                    "email object with a valid email address.")
        sender = payload.get("from")
        if not isinstance(sender, dict) or not sender.get("email"):
            return ("from.email", "The from object must be provided for every email send.")
        template = payload.get("template_id")
        content = payload.get("content")
        if not template:
            if not isinstance(content, list) or not content or not all(
                    isinstance(c, dict) and c.get("type") and c.get("value") for c in content):
                return ("content", "Unless a valid template_id is provided, the content parameter is "
                                   "required. There must be at least one defined content block.")
            if not payload.get("subject") and not all(
                    isinstance(p, dict) and p.get("subject") for p in personalizations):
                return ("subject", "The subject is required. You can get around this requirement if you "
                                   "use a template with a subject defined or if every personalization has a "
                                   "subject defined.")
        return None


# ----------------------------------------------------------------------------------------------------
# By hand
# ----------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.providers",
                                     description="Serve fake Twilio and SendGrid APIs on 127.0.0.1.")
    parser.add_argument("--twilio-port", type=int, default=18010)
    parser.add_argument("--sendgrid-port", type=int, default=18011)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    twilio = FakeTwilio(args.twilio_port, delay=args.delay, verbose=not args.quiet)
    sendgrid = FakeSendGrid(args.sendgrid_port, delay=args.delay, verbose=not args.quiet)
    with twilio, sendgrid:
        print(f"TWILIO_API_BASE_URL={twilio.url}")
        print(f"SENDGRID_API_HOST={sendgrid.url}")
        print("Serving; Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(0.5):
                pass
        print(f"accepted {len(twilio.messages())} SMS, {len(sendgrid.mails())} mail(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
