"""``python -m services.deadletters``: listing shows where each letter came from and why, never
its payload or personal data; replay puts the original bytes back on their source topic."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer

from harness.processes import ROOT
from schemas import DeadLetter, Informant, Location, PublicContact, ReportDetails
from schemas.events import new_reference
from tests.integration.conftest import read_until

pytestmark = pytest.mark.integration


def run(kafka_bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.deadletters", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=60, check=True,
                          env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})


def test_list_shows_no_personal_data_and_replay_restores_the_original(
    kafka_bootstrap: str, producer: KafkaProducer,
) -> None:
    since = datetime.now(UTC).isoformat()
    contact = PublicContact(
        reference=new_reference(),
        report=ReportDetails(category="drugs", description="Jane Doe deals from the flat, call 07700 900456",
                             location=Location(postcode="MK42 8AA")),
        informant=Informant(name="Jane Informant", phone="07700900789", email="jane@example.org"),
    )
    original = contact.model_dump_json().encode()
    token = uuid.uuid4().hex
    letter = DeadLetter(
        service="router", source_topic="contacts.public", partition=0, offset=42,
        reason=f"unexpected IntegrityError {token}: from jane@example.org or +447700900789 "
               "[SQL: INSERT ...] [parameters: {'name': 'Jane Informant'}]",
        original_b64=base64.b64encode(original).decode(),
    )
    producer.send("router.dead-letters", key=contact.reference.encode(),
                  value=letter.model_dump_json().encode()).get(10)

    listed = run(kafka_bootstrap, "list", "--topic", "router.dead-letters", "--since", since)
    (line,) = [x for x in listed.stdout.splitlines() if token in x]
    assert "from contacts.public/0@42" in line
    assert f"{len(original)} bytes" in line
    for personal in ("Jane", "07700", "+4477", "jane@example.org", "900789", "900456"):
        assert personal not in listed.stdout

    replayed = run(kafka_bootstrap, "replay", "--topic", "router.dead-letters", "--since", since)
    assert "-> contacts.public" in replayed.stdout
    assert read_until(kafka_bootstrap, "contacts.public", lambda v: v == original)
