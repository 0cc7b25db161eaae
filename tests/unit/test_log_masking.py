"""No personal data in a log line or a dead-letter reason: not in an exception's text, not in a
traceback, not in any UK phone format, not in a query string of the access log."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from schemas import PublicContact
from services.common.logging import configure_logging, get_logger, mask_text
from services.common.streams import PermanentFailure, failure_reason, process
from tests.unit.test_streams import Event, FakeStream, FakeTopic, Message

PHONE = "07700 900461"
PHONE_DIGITS = "7700900461"
EMAIL = "zed.quillfeather@example.net"
NAME = "Zed Quillfeather"
FREE_TEXT = "quillfeather-parked-on-the-verge"
MARKERS = (PHONE_DIGITS, "900461", "900 461", EMAIL, "quillfeather", "Quillfeather")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    yield stream
    configure_logging("WARNING", json=True)


def assert_no_marker(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, f"{marker!r} leaked into: {text}"


@pytest.mark.parametrize("number", [
    "447700900461", "7700 900461", "+44 (0) 7700 900 461", "07700 900461", "07700900461", "+44 7700 900461",
    "0044 7700 900461", "(07700) 900461", "07700-900-461", "+44-7700-900461",
])
def test_every_uk_phone_format_is_masked(number: str) -> None:
    masked = mask_text(f"call {number} after six")
    assert "[phone]" in masked and "900" not in masked.replace("[phone]", "")


def test_log_lines_keep_their_times_ids_and_references() -> None:
    text = "MECC-7K3Q-9XJD at 2026-11-22T18:00:05.123456Z event 3f2a1b4c-1234-5678-9abc-def012345678"
    assert mask_text(text) == text


def pydantic_error() -> ValidationError:
    try:
        PublicContact.model_validate({"reference": "MECC-7K3Q-9XJD", "report": {
            "category": "speeding", "description": FREE_TEXT, "location": {"latitude": 95.0}},
            "informant": {"name": NAME, "phone": PHONE, "email": f"{EMAIL}!!"}})
    except ValidationError as exc:
        return exc
    raise AssertionError("the contact was valid")


def test_a_traceback_quoting_pydantic_input_values_is_masked(captured: io.StringIO) -> None:
    exc = pydantic_error()
    assert PHONE in str(exc) or EMAIL in str(exc)  # pydantic quotes what it refused
    try:
        raise RuntimeError(f"handling {EMAIL} failed") from exc
    except RuntimeError:
        get_logger("t").exception("handler_failed")
    (line,) = [json.loads(raw) for raw in captured.getvalue().splitlines()]
    assert "Traceback" in line["exception"] and "ValidationError" in line["exception"]
    assert_no_marker(captured.getvalue())


def test_a_standard_library_traceback_is_masked_too(captured: io.StringIO) -> None:
    try:
        raise ValueError(f"bad input {PHONE} from {NAME}") from pydantic_error()
    except ValueError:
        logging.getLogger("aiokafka.consumer").error("consumer crashed", exc_info=True)
    assert "Traceback" in captured.getvalue()
    assert PHONE_DIGITS not in captured.getvalue() and "900461" not in captured.getvalue()
    assert EMAIL not in captured.getvalue()


def test_the_access_log_drops_query_strings_and_client_addresses(captured: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "203.0.113.9:5123", "GET",
                                             "/open311/v2/requests.json?api_key=s3cret-key&q=" + EMAIL, "1.1", 200)
    text = captured.getvalue()
    assert "/open311/v2/requests.json" in text
    assert "s3cret-key" not in text and "api_key" not in text and "203.0.113.9" not in text
    assert_no_marker(text)


def test_dead_letter_reasons_name_fields_and_error_types_never_values(captured: io.StringIO) -> None:
    poison = json.dumps({"reference": "MECC-7K3Q-9XJD", "report": {
        "category": "speeding", "description": FREE_TEXT, "location": {"latitude": 95.0}},
        "informant": {"name": NAME, "phone": "12", "email": f"{EMAIL}!!"}}).encode()
    crash = json.dumps({"reference": "MECC-7K3Q-9XJC", "report": {
        "category": "speeding", "description": "fine", "location": {"latitude": 52.1, "longitude": -0.4}}}).encode()

    async def handle(values: list[PublicContact]) -> None:
        for value in values:
            if value.reference.endswith("C"):
                raise KeyError(f"{PHONE} {EMAIL}")  # an unexpected error quoting its input
            raise PermanentFailure(f"no report for {EMAIL} or {PHONE}")

    letters = FakeTopic()
    stream = FakeStream([[Event(Message(0, poison)), Event(Message(1, b"\xff" + PHONE.encode())),
                          Event(Message(2, crash))]])
    asyncio.run(process(stream, service="router", decode=PublicContact.model_validate_json,
                        handle_batch=handle, dead_letters=letters))
    reasons = [letter["reason"] for letter in letters.sent]
    assert len(reasons) == 3
    assert "report.location.latitude: less_than_equal" in reasons[0]
    assert "informant.email: value_error" in reasons[0]
    assert reasons[2] == "unexpected KeyError"
    for reason in reasons:
        assert_no_marker(reason)
    assert_no_marker(captured.getvalue())
    assert failure_reason(PermanentFailure(f"kept for review: {EMAIL}")) == "kept for review: [email]"
