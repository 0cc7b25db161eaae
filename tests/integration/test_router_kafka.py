"""The router as a process against a real broker and PostgreSQL: it routes, projects, and
dead-letters what it cannot process without stopping."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from schemas import DeadLetter, Informant, Location, PublicContact, ReportDetails, RoutedItem
from schemas.events import new_reference
from services.store.db import make_engine, make_sessions
from services.store.models import Report, RoutingDecision
from tests.harness import Stack, running_stack, service_env
from tests.integration.conftest import read_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def router(kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = service_env(kafka=kafka_bootstrap, database_url=database_url)
    with running_stack(env, Path(tmp_path_factory.mktemp("router-logs")), names=("router",)) as stack:
        yield stack


def contact(category: str = "rural-crime") -> PublicContact:
    return PublicContact(
        reference=new_reference(),
        report=ReportDetails(category=category, description="Hare coursing in the fields off Green Lane",
                             location=Location(latitude=52.1, longitude=-0.5)),
        informant=Informant(phone="07700900123"),
    )


def test_a_contact_is_routed_projected_and_published(router: Stack, producer: KafkaProducer,
                                                      kafka_bootstrap: str, database_url: str) -> None:
    c = contact()
    producer.send("contacts.public", key=c.reference.encode(), value=c.model_dump_json().encode()).get(10)
    (raw,) = read_until(kafka_bootstrap, "reports.routed", lambda v: c.reference.encode() in v)
    item = RoutedItem.model_validate_json(raw)
    assert [d.id for d in item.destinations] == ["rural-crime-team"]
    assert item.contact == c
    with make_sessions(make_engine(database_url))() as s:
        assert s.get(Report, c.reference) is not None
        decision = s.scalars(select(RoutingDecision).where(RoutingDecision.reference == c.reference)).one()
    assert decision.reasons == list(item.reasons)


def test_a_redelivered_contact_is_routed_to_the_same_event(router: Stack, producer: KafkaProducer,
                                                           kafka_bootstrap: str) -> None:
    c = contact("drugs")
    for _ in range(2):
        producer.send("contacts.public", key=c.reference.encode(), value=c.model_dump_json().encode()).get(10)
    items = read_until(kafka_bootstrap, "reports.routed", lambda v: c.reference.encode() in v, count=2)
    assert len({RoutedItem.model_validate_json(v).event_id for v in items}) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe not json at all", "invalid event"),
        (None, "schema_version"),  # filled below: a valid contact with a future schema version
        (None, "location.latitude"),  # valid JSON, impossible place
    ],
    ids=["undecodable", "wrong-version", "impossible-values"],
)
def test_poison_messages_go_to_the_dead_letter_topic_and_the_stream_goes_on(
    router: Stack, producer: KafkaProducer, kafka_bootstrap: str, payload: bytes | None, reason: str
) -> None:
    good = contact()
    if payload is None:
        data = json.loads(contact().model_dump_json())
        if reason == "schema_version":
            data["schema_version"] = 99
        else:
            data["report"]["location"] = {"latitude": 95.0, "longitude": 500.0}
        payload = json.dumps(data).encode()
    producer.send("contacts.public", key=b"poison", value=payload).get(10)
    producer.send("contacts.public", key=b"poison", value=good.model_dump_json().encode()).get(10)
    letters = read_until(
        kafka_bootstrap, "router.dead-letters",
        lambda v: base64.b64decode(DeadLetter.model_validate_json(v).original_b64) == payload,
    )
    letter = DeadLetter.model_validate_json(letters[0])
    assert reason in letter.reason
    assert letter.source_topic == "contacts.public" and letter.service == "router"
    assert "07700" not in letter.reason and "900123" not in letter.reason
    # the message after the poison one is routed: the stream did not stop
    assert read_until(kafka_bootstrap, "reports.routed", lambda v: good.reference.encode() in v)
