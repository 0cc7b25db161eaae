"""No personal data in a log line or a dead-letter reason, end to end: reports with marker names,
numbers, addresses, a postcode and free text go through the intake, router and feedback as
processes (logging at DEBUG); an action is recorded, an SMS reply arrives on the signed webhook
and a poison contact is dead-lettered. No service's log and no dead letter's reason or headers
quotes a marker."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from twilio.request_validator import RequestValidator

from harness.processes import PUBLIC_BASE_URL, Stack, provider_env, running_stack, service_env, wait_until
from harness.providers import FakeSendGrid, FakeTwilio
from schemas.topics import CONTACTS_PUBLIC, ROUTER_DEAD_LETTERS

pytestmark = pytest.mark.e2e

TEAM_KEY = {"X-API-Key": "dev-team-kempston"}

NAME = "Zebedee Quxworthington"
PHONE = "07700 900417"  # the informant's number, as typed
PHONE_E164 = "+447700900417"
OTHER_PHONE = "+44 7700 900418"  # a second informant, international and spaced
OTHER_PHONE_E164 = "+447700900418"
DESCRIPTION_PHONE = "+44 (0) 7700 900 531"
EMAIL = "zorblatt.informant@example.org"
DESCRIPTION_EMAIL = "quxmarker.jones@example.net"
POSTCODE = "MK42 7QX"
WORDS = ("Florbinate", "Wuzzlequark", "Snorkelbriar", "Plimbottle")
POISON_PHONE = "07700 900 642"
POISON_EMAIL = "poison.marker@example.com"

#: Every marker and the forms it may take in a line: as sent, digits only, without spaces.
MARKERS = tuple({m.lower() for m in (
    NAME, *NAME.split(), PHONE, PHONE_E164, OTHER_PHONE, OTHER_PHONE_E164, DESCRIPTION_PHONE, POISON_PHONE,
    EMAIL, DESCRIPTION_EMAIL, POISON_EMAIL, EMAIL.replace("@", "%40"), POSTCODE, POSTCODE.replace(" ", ""),
    *WORDS,
    *(form for number in (PHONE_E164, OTHER_PHONE_E164, "+447700900531", "+447700900642")
      for form in (number, number[1:], "0" + number[3:], number[3:], number.replace("+", "%2B"))),
)})


def leaked(text: str) -> list[str]:
    lowered = text.lower()
    return sorted(m for m in MARKERS if m in lowered)


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, database_url: str, twilio: FakeTwilio, sendgrid: FakeSendGrid,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The walking skeleton's stack, logging everything it would log at DEBUG."""
    logs = tmp_path_factory.mktemp("service-logs")
    env = service_env(kafka=kafka_bootstrap, database_url=database_url,
                      extra={**provider_env(twilio, sendgrid), "LOG_LEVEL": "DEBUG"})
    with running_stack(env, Path(logs)) as running:
        yield running


def report(informant: dict) -> dict:
    return {
        "category": "speeding",
        "description": f"{WORDS[0]} cars racing past {NAME}'s house every night; call me on {DESCRIPTION_PHONE} "
                       f"or write to {DESCRIPTION_EMAIL}",
        "location": {"postcode": POSTCODE, "description": f"{WORDS[1]} Road, Kempston"},
        "informant": informant,
    }


def dead_letters_with(kafka_bootstrap: str, token: str) -> list[tuple[dict, list[tuple[str, bytes]]]]:
    """The router's dead letters whose original message carries ``token``, with their headers."""
    consumer = KafkaConsumer(ROUTER_DEAD_LETTERS.name, bootstrap_servers=kafka_bootstrap,
                             auto_offset_reset="earliest", group_id=f"test-{uuid.uuid4().hex[:8]}",
                             consumer_timeout_ms=2000)
    found = []
    try:
        for message in consumer:
            letter = json.loads(message.value)
            if token.encode() in base64.b64decode(letter.get("original_b64", "")):
                found.append((letter, list(message.headers or [])))
    finally:
        consumer.close()
    return found


def test_no_marker_reaches_a_log_line_or_a_dead_letter_reason(stack: Stack, twilio: FakeTwilio,
                                                               kafka_bootstrap: str) -> None:
    with stack.client() as http:
        r = http.post("/v1/reports", json=report({"name": NAME, "phone": PHONE, "email": EMAIL}))
        assert r.status_code == 202, r.text
        ref = r.json()["reference"]
        r = http.post("/v1/reports", json=report({"name": NAME, "phone": OTHER_PHONE}))
        assert r.status_code == 202, r.text
        other = r.json()["reference"]

        twilio.wait_for(lambda: any(ref in (m.body or "") for m in twilio.messages(to=PHONE_E164)), timeout=60)
        twilio.wait_for(lambda: any(other in (m.body or "") for m in twilio.messages(to=OTHER_PHONE_E164)),
                        timeout=60)

        r = http.post(f"/v1/reports/{ref}/actions", headers=TEAM_KEY,
                      json={"public_text": f"We spoke to {WORDS[2]} residents on Bedford Road about speeding"})
        assert r.status_code == 202, r.text
        twilio.wait_for(lambda: len([m for m in twilio.messages(to=PHONE_E164) if ref in (m.body or "")]) >= 2,
                        timeout=60)

        form = {"From": PHONE_E164, "To": "+447700900001", "MessageSid": "SM" + uuid.uuid4().hex,
                "Body": f"Thanks, {NAME} here, {WORDS[3]}; ring {DESCRIPTION_PHONE} or {DESCRIPTION_EMAIL}"}
        signature = RequestValidator("test-token").compute_signature(
            f"{PUBLIC_BASE_URL}/webhooks/twilio/inbound", form)
        r = http.post("/webhooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
        assert r.status_code == 200, r.text

    token = uuid.uuid4().hex
    poison = {"reference": f"poison-{token}", "report": f"ring {POISON_PHONE} or mail {POISON_EMAIL}",
              "informant": {"name": NAME, "phone": POISON_PHONE, "email": POISON_EMAIL}}
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        producer.send(CONTACTS_PUBLIC.name, key=token.encode(), value=json.dumps(poison).encode()).get(10)
    finally:
        producer.close()
    letters: list[tuple[dict, list[tuple[str, bytes]]]] = []

    def dead_lettered() -> bool:
        letters[:] = dead_letters_with(kafka_bootstrap, token)
        return bool(letters)

    wait_until(dead_lettered, 60, "the poison contact to be dead-lettered", interval=1)
    time.sleep(3)  # let the inbound reply and the last deliveries be handled, and logged

    (letter, headers), *_ = letters
    assert letter["reason"]
    for name, value in headers:
        assert leaked(f"{name}={value!r}") == [], f"dead-letter header {name} quotes personal data"
    assert leaked(letter["reason"]) == [], f"dead-letter reason quotes personal data: {letter['reason']}"

    logs = {name: service.log_path.read_text(errors="replace") for name, service in stack.services.items()}
    assert all(logs.values()), "every service logged"
    assert re.search(r'"level": "debug"', "".join(logs.values())), "the services logged at DEBUG"
    for name, text in logs.items():
        lines = [line for line in text.splitlines() if leaked(line)]
        assert lines == [], f"{name} logged personal data ({leaked(chr(10).join(lines))}):\n" + "\n".join(lines[:10])
