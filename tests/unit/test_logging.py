import io
import json
import logging

import pytest

from services.common.logging import configure_logging, get_logger, mask_text


@pytest.fixture
def log_output():
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    yield stream
    configure_logging("WARNING", json=True)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("text", [
    "call me on 07700 900123 please", "+447700900123", "To=%2B447700900123&From=x", "020 7946 0000",
])
def test_phone_numbers_are_masked_in_free_text(text):
    assert "[phone]" in mask_text(text)
    assert "900123" not in mask_text(text) and "7946" not in mask_text(text)


def test_references_and_times_are_not_mistaken_for_numbers():
    assert mask_text("MECC-7K3Q-9XJD at 2026-11-22 18:00") == "MECC-7K3Q-9XJD at 2026-11-22 18:00"


def test_structlog_lines_hold_no_phone_email_or_name(log_output):
    get_logger("t").info("sent to 07700 900123", email="sam@example.org", name="Sam Smith",
                         detail="reply from sam@example.org", phone="+447700900123")
    (line,) = lines(log_output)
    text = json.dumps(line)
    assert "900123" not in text and "sam@example.org" not in text and "Sam Smith" not in text
    assert line["name"] == "[redacted]"


def test_library_log_lines_are_masked_too(log_output):
    # twilio's HTTP client logs the form it posts, To number included, at DEBUG.
    twilio_log = logging.getLogger("twilio.http_client")
    twilio_log.setLevel(logging.DEBUG)
    twilio_log.debug("-- BEGIN Twilio API Request --\nData: %s", {"To": "+447700900123", "Body": "hi"})
    logging.getLogger("python_http_client.client").warning("POST to %s failed", "sam@example.org")
    text = log_output.getvalue()
    assert "+447700900123" not in text and "sam@example.org" not in text
    assert "[phone]" in text and "[email]" in text
