"""Freeze a worker (SIGSTOP: a GC pause, a frozen VM) while it holds work, for longer than the send
timeout, the broker session timeout, or the send lease, with a second worker of the same group
taking over; then let it go on (SIGCONT). Every informant has exactly one message at the fake
provider (slow, so the frozen worker is mid-send), and every report is routed exactly once.

Short timeouts keep the suite quick: a 6 s session (the broker's minimum), a 2 s send timeout, an
10 s send lease and a provider that takes 1 s to answer."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from harness.faults import Summary, routed_count, routed_event_ids
from harness.processes import Service, provider_env, service_env, wait_until
from harness.providers import FakeSendGrid, FakeTwilio
from infra.ports import free_port
from schemas import Informant, Location, MessageStatus, PublicContact, ReportDetails
from schemas.events import new_reference
from services.store.db import make_engine, make_sessions
from services.store.models import Message
from tests.integration.test_feedback_kafka import publish, routed

pytestmark = pytest.mark.faults

SESSION_TIMEOUT = 6.0
SEND_TIMEOUT = 2.0
LEASE = 10.0
PROVIDER_DELAY = 1.0
INFORMANTS = 12

#: How long the worker is frozen: past the send timeout only; past the session timeout (its
#: partitions move to the other worker); past the send lease (the other worker looks its sends up).
PAUSES = {"beyond-send-timeout": SEND_TIMEOUT + 1.5, "beyond-session-timeout": SESSION_TIMEOUT + 1.0,
          "beyond-lease": LEASE + 4.0}


@contextmanager
def workers(name: str, env: dict[str, str], log_dir: Path, count: int = 2) -> Iterator[list[Service]]:
    """``count`` workers of one service in one consumer group."""
    var = {"feedback": "FEEDBACK_WEB_PORT", "router": "ROUTER_WEB_PORT"}[name]
    started: list[Service] = []
    try:
        for i in range(count):
            port = free_port()
            started.append(Service(name, {**env, var: str(port)}, port, log_dir / f"{name}-{i}.log").start())
        yield started
    finally:
        for service in started:
            if service.proc is not None and service.proc.poll() is None:
                os.killpg(service.proc.pid, signal.SIGCONT)
            service.stop()


def freeze(service: Service, seconds: float) -> None:
    assert service.proc is not None
    os.killpg(service.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.killpg(service.proc.pid, signal.SIGCONT)


def _messages(database_url: str, references: list[str]) -> list[Message]:
    engine = make_engine(database_url)
    try:
        with make_sessions(engine)() as s:
            return list(s.scalars(select(Message).where(Message.reference.in_(references))))
    finally:
        engine.dispose()


@pytest.mark.parametrize("pause", list(PAUSES.values()), ids=list(PAUSES))
def test_a_feedback_worker_frozen_mid_send_leaves_every_informant_exactly_one_message(
    pause: float, kafka_bootstrap: str, database_url: str, tmp_path: Path, summary: Summary,
) -> None:
    base = 600 + 20 * sorted(PAUSES.values()).index(pause)  # numbers of their own (drama range)
    numbers = [f"+447700900{base + i:03d}" for i in range(INFORMANTS)]
    items = [routed(Informant(phone=n), database_url) for n in numbers]
    references = [item.reference for item in items]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    with FakeTwilio(delay=PROVIDER_DELAY) as twilio, FakeSendGrid() as sendgrid:
        env = service_env(kafka=kafka_bootstrap, database_url=database_url, extra={
            **provider_env(twilio, sendgrid),
            "FEEDBACK_APP_ID": f"pauses-{uuid.uuid4().hex[:6]}",
            "KAFKA_SESSION_TIMEOUT_SECONDS": str(SESSION_TIMEOUT),
            "SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT),
            "SEND_LEASE_SECONDS": str(LEASE),
        })
        with workers("feedback", env, tmp_path) as (first, _second):
            assert first.proc is not None
            pid = first.proc.pid
            for item in items:
                publish(producer, item)

            def first_is_mid_send() -> bool:  # it holds sends the provider has not answered yet
                held = [m for m in _messages(database_url, references)
                        if m.status == MessageStatus.SENDING and f":{pid}:" in (m.lease_owner or "")]
                return bool(held) and twilio.in_flight > 0

            wait_until(first_is_mid_send, 90, "the first worker mid-send")
            freeze(first, pause)

            def settled() -> bool:
                open_ = {MessageStatus.SCHEDULED, MessageStatus.RETRYING, MessageStatus.SENDING,
                         MessageStatus.AMBIGUOUS}
                return all(m.status not in open_ for m in _messages(database_url, references))

            wait_until(lambda: all(twilio.messages(to=n) for n in numbers) and settled(), 120,
                       "every informant's message, settled")
            time.sleep(LEASE / 2)  # a second copy from either worker would arrive by now
        producer.close()
        counts = {n: len(twilio.messages(to=n)) for n in numbers}
        rows = _messages(database_url, references)
        lookups = len(twilio.lookups)

    summary.reports_sent = summary.accepted = summary.routed = INFORMANTS
    summary.messages_expected = INFORMANTS
    summary.messages_sent = sum(counts.values())
    summary.duplicates = sum(max(0, c - 1) for c in counts.values())
    summary.lost = sum(1 for c in counts.values() if c == 0)
    summary.unconfirmed = [f"{m.reference} {m.channel} {m.status}" for m in rows
                           if m.status in (MessageStatus.UNCONFIRMED, MessageStatus.AMBIGUOUS)]
    assert {m.status for m in rows if m.channel == "sms"} <= {MessageStatus.SENT, MessageStatus.UNCONFIRMED}, \
        sorted((m.reference, m.status, m.detail) for m in rows)
    if pause > LEASE:  # the other worker took over the frozen one's sends: it asked the provider
        assert lookups > 0, "the frozen worker's sends were never looked up"
        assert any(m.late_outcome for m in rows), "the frozen worker's late answers were not recorded"
    else:  # the frozen worker kept its leases: the answers that came while it was frozen are its sends
        assert not any(m.late_outcome for m in rows), sorted((m.reference, m.late_outcome) for m in rows)
    summary.check()


def test_a_router_frozen_beyond_its_session_routes_every_report_exactly_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, summary: Summary,
) -> None:
    env = service_env(kafka=kafka_bootstrap, database_url=database_url,
                      extra={"KAFKA_SESSION_TIMEOUT_SECONDS": str(SESSION_TIMEOUT)})
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    references: list[str] = []
    reports = 40

    def send(i: int) -> None:
        contact = PublicContact(
            reference=new_reference(),
            # anonymous, and no watch takes drugs: nothing for feedback workers to send
            report=ReportDetails(category="drugs", description=f"Dealing, pause fault report {i}",
                                 location=Location(postcode="MK42 8AA")),
        )
        producer.send("contacts.public", key=contact.reference.encode(),
                      value=contact.model_dump_json().encode()).get(10)
        references.append(contact.reference)

    with workers("router", env, tmp_path) as (first, _second):
        for i in range(reports // 2):
            send(i)
        wait_until(lambda: routed_count(database_url, references) > 0, 60, "some reports routed")
        assert first.proc is not None
        os.killpg(first.proc.pid, signal.SIGSTOP)
        try:
            for i in range(reports // 2, reports):
                send(i)
            time.sleep(SESSION_TIMEOUT + 2.0)
        finally:
            os.killpg(first.proc.pid, signal.SIGCONT)
        wait_until(lambda: routed_count(database_url, references) == reports, 120, "every report routed")
        time.sleep(2)
    producer.close()

    ids = routed_event_ids(kafka_bootstrap, set(references))
    summary.reports_sent = summary.accepted = reports
    summary.routed = routed_count(database_url, references)
    summary.duplicates = sum(len(v) - 1 for v in ids.values())
    summary.lost = reports - summary.routed + sum(1 for r in references if r not in ids)
    summary.check()
