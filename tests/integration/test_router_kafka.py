"""The router as a process against a real broker and PostgreSQL: it routes, projects, and
dead-letters what it cannot process without stopping."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import select

from harness.processes import Stack, running_stack, service_env
from schemas import DeadLetter, Informant, Location, PublicContact, ReportDetails, RoutedItem, WatchItem
from schemas.events import new_reference
from services.store.db import make_engine, make_sessions
from services.store.models import Report, RoutingDecision, WatchItemRow
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
    if payload is not None:
        # this run's own bytes: a letter an earlier run left on the broker must not answer for it
        payload += uuid.uuid4().hex.encode()
    else:
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


# --- areas, watches, clusters, danger ------------------------------------------------------

INFORMANT = Informant(name="Jo Bloggs", phone="07700 900777", email="jo.bloggs@example.org")


def kempston_speeding(text: str = "Cars racing on Bedford Road every night. Jo Bloggs, 07700 900777, "
                                  "jo.bloggs@example.org") -> PublicContact:
    return PublicContact(
        reference=new_reference(),
        report=ReportDetails(category="speeding", description=text,
                             location=Location(postcode="MK42 8AA", description="outside 3 Bedford Road")),
        informant=INFORMANT,
    )


def keyed(kafka_bootstrap: str, topic: str, reference: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of the messages on ``topic`` about ``reference``."""
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             group_id=f"test-{uuid.uuid4().hex[:8]}", consumer_timeout_ms=1000)
    found: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not found:
            found = [(m.key, m.value) for m in consumer if reference.encode() in m.value]
    finally:
        consumer.close()
    return found


def test_speeding_in_kempston_reaches_the_speed_watch_redacted(router: Stack, producer: KafkaProducer,
                                                              kafka_bootstrap: str, database_url: str) -> None:
    c = kempston_speeding()
    producer.send("contacts.public", key=c.reference.encode(), value=c.model_dump_json().encode()).get(10)
    (raw,) = read_until(kafka_bootstrap, "reports.routed", lambda v: c.reference.encode() in v)
    item = RoutedItem.model_validate_json(raw)
    assert [(d.kind, d.id) for d in item.destinations] == [
        ("team", "roads-policing"), ("team", "kempston-npt"), ("watch", "kempston-speed-watch")]
    assert [a.id for a in item.areas] == ["bedfordshire", "west-sector", "kempston-north"]
    assert item.reasons[0].startswith("inside Kempston North neighbourhood (postcode sector MK42 8)")
    assert item.contact == c  # the police get the full item
    assert item.cluster is not None and item.cluster.label == "Bedford Road"

    ((key, value),) = keyed(kafka_bootstrap, "watch.items", c.reference)
    assert key == b"kempston-speed-watch"
    watch_item = WatchItem.model_validate_json(value)
    assert watch_item.delivery == "per_item" and watch_item.coordinator_ids == ("coord-kempston-speed",)
    assert watch_item.location.street == "Bedford Road" and watch_item.location.postcode_sector == "MK42 8"
    text = value.decode()
    for personal in ("Bloggs", "07700", "900777", "+447700900777", "jo.bloggs@example.org", "8AA", "3 Bedford"):
        assert personal not in text, personal
    assert "[name]" in watch_item.description and "[phone]" in watch_item.description

    # ... and projected for the coordinators' API
    with make_sessions(make_engine(database_url))() as s:
        (stored,) = s.scalars(select(WatchItemRow).where(WatchItemRow.reference == c.reference)).all()
    assert stored.watch_id == "kempston-speed-watch" and WatchItem.model_validate(stored.item) == watch_item


def about(reference: str) -> Callable[[bytes], bool]:
    return lambda value: reference.encode() in value


def test_repeated_reports_nearby_are_clustered(router: Stack, producer: KafkaProducer, kafka_bootstrap: str) -> None:
    first, second = kempston_speeding("Racing on Bedford Road"), kempston_speeding("Racing again on Bedford Road")
    items = []
    for c in (first, second):
        producer.send("contacts.public", key=c.reference.encode(), value=c.model_dump_json().encode()).get(10)
        (raw,) = read_until(kafka_bootstrap, "reports.routed", about(c.reference))
        items.append(RoutedItem.model_validate_json(raw))
    assert items[0].cluster is not None and items[1].cluster is not None
    assert items[0].cluster.id == items[1].cluster.id
    assert items[1].cluster.reports == items[0].cluster.reports + 1
    assert "reports of speeding and road safety near Bedford Road since" in items[1].cluster.summary


def test_a_report_suggesting_danger_is_flagged_and_kept_from_watches(router: Stack, producer: KafkaProducer,
                                                                      kafka_bootstrap: str) -> None:
    c = kempston_speeding("A man waving a knife at drivers on Bedford Road, happening now")
    producer.send("contacts.public", key=c.reference.encode(), value=c.model_dump_json().encode()).get(10)
    (raw,) = read_until(kafka_bootstrap, "reports.routed", lambda v: c.reference.encode() in v)
    item = RoutedItem.model_validate_json(raw)
    assert item.flags == ("danger",) and item.destinations[0].id == "force-control-room"
    assert item.informant_notice is not None and "999" in item.informant_notice
    assert all(d.kind != "watch" for d in item.destinations)
    # the next report's watch item arrives, this one's never does
    follow = kempston_speeding("Speeding again")
    producer.send("contacts.public", key=follow.reference.encode(), value=follow.model_dump_json().encode()).get(10)
    assert keyed(kafka_bootstrap, "watch.items", follow.reference)
    assert read_until(kafka_bootstrap, "watch.items", lambda v: c.reference.encode() in v, timeout=3) == []
