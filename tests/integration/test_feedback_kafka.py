"""The feedback worker as a process against a real broker and PostgreSQL, talking through the
real twilio and sendgrid clients to fake providers that fail on demand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from harness.processes import Stack, provider_env, running_stack, service_env, wait_until
from harness.providers import FakeSendGrid, FakeTwilio
from schemas import Informant, Location, PublicContact, ReportDetails, RoutedItem
from schemas.events import new_reference
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import messages as store
from services.store.db import make_engine, make_sessions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(kafka_bootstrap: str, database_url: str, twilio: FakeTwilio, sendgrid: FakeSendGrid) -> dict[str, str]:
    return service_env(kafka=kafka_bootstrap, database_url=database_url,
                       extra={**provider_env(twilio, sendgrid), "SEND_TIMEOUT_SECONDS": "10"})


@pytest.fixture(scope="module")
def feedback(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(env, Path(tmp_path_factory.mktemp("feedback-logs")), names=("feedback",)) as stack:
        yield stack


def routed(informant: Informant, database_url: str) -> RoutedItem:
    """A routed report as the router would publish it (and project it into the store)."""
    contact = PublicContact(
        reference=new_reference(),
        report=ReportDetails(category="vehicle-crime", description="Someone trying car doors on Elm Street",
                             location=Location(postcode="MK42 7AB")),
        informant=informant,
    )
    item = routed_item(contact, load_routing_config())
    from tests.fakes.store import record_routing

    with make_sessions(make_engine(database_url))() as s:
        record_routing(s, item)
    return item


def publish(producer: KafkaProducer, item: RoutedItem) -> None:
    producer.send("reports.routed", key=item.reference.encode(), value=item.model_dump_json().encode()).get(10)


def statuses(database_url: str, reference: str) -> dict[str, tuple[str, int]]:
    with make_sessions(make_engine(database_url))() as s:
        return {m.channel: (m.status, m.attempts) for m in store.messages_for(s, reference)}


def test_429_and_500_are_retried_until_the_message_goes_once(feedback, producer, twilio, database_url):
    number = "+447700900301"
    twilio.fail_next(2, status=429, to=number)  # kept for this number: leftovers may be looked up meanwhile
    item = routed(Informant(phone=number), database_url)
    publish(producer, item)
    twilio.wait_for(lambda: len(twilio.messages(to=number)) == 1, timeout=60)
    time.sleep(2)
    assert len(twilio.messages(to=number)) == 1
    wait_until(lambda: statuses(database_url, item.reference).get("sms", ("",))[0] == "sent", 20, "sent")
    assert statuses(database_url, item.reference)["sms"] == ("sent", 3)


def test_21211_invalid_number_is_not_retried_and_email_is_used(feedback, producer, twilio, sendgrid, database_url):
    number, address = "+447700900302", "second@example.org"
    twilio.fail_for(number, status=400, code=21211)
    item = routed(Informant(phone=number, email=address), database_url)
    publish(producer, item)
    sendgrid.wait_for(lambda: len(sendgrid.mails(to=address)) == 1, timeout=60)
    time.sleep(2)
    assert len([f for f in twilio.failures if number in f.recipients]) == 1
    assert statuses(database_url, item.reference) == {"sms": ("failed", 1), "email": ("sent", 1)}


def test_21610_unsubscribed_number_is_recorded_and_never_texted_again(feedback, producer, twilio, database_url):
    number = "+447700900303"
    twilio.fail_for(number, status=400, code=21610)
    first = routed(Informant(phone=number), database_url)
    publish(producer, first)
    wait_until(lambda: statuses(database_url, first.reference).get("sms", ("",))[0] == "opted_out", 60,
               "the opt-out to be recorded")
    twilio.clear_failures()
    second = routed(Informant(phone=number), database_url)
    publish(producer, second)
    wait_until(lambda: "sms" in statuses(database_url, second.reference), 60, "the second report's message")
    assert statuses(database_url, second.reference)["sms"] == ("opted_out", 0)
    assert twilio.messages(to=number) == []


def test_sendgrid_500_is_retried(feedback, producer, sendgrid, database_url):
    address = "third@example.org"
    sendgrid.fail_next(1, status=500, to=address)  # kept for this address: leftovers may be looked up meanwhile
    item = routed(Informant(email=address), database_url)
    publish(producer, item)
    sendgrid.wait_for(lambda: len(sendgrid.mails(to=address)) == 1, timeout=60)
    (mail,) = sendgrid.mails(to=address)
    assert mail.headers.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    wait_until(lambda: statuses(database_url, item.reference)["email"] == ("sent", 2), 20, "sent on try 2")
