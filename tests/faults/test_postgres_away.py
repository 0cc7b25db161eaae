"""Take PostgreSQL away while the router is consuming: it stops being ready, retries, and
resumes when the database is back; no event is skipped (none dead-lettered, every one routed).
Uses its own cluster on ``FAULT_POSTGRES_PORT`` or, unset, a throwaway one on a free port: never
the session's, and two test runs on one machine do not share it."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from harness.faults import Summary, routed_count, routed_event_ids, scrape
from harness.processes import free_port, running_stack, service_env, wait_until
from infra import postgres as local_postgres
from schemas import Location, PublicContact, ReportDetails
from schemas.events import new_reference
from services.common.metrics import total
from services.store.db import migrate

pytestmark = pytest.mark.faults

REPORTS = 40


@pytest.fixture
def port() -> int:
    return int(os.environ.get("FAULT_POSTGRES_PORT") or free_port())


@pytest.fixture
def own_database(port: int) -> Iterator[str]:
    throwaway = not os.environ.get("FAULT_POSTGRES_PORT")
    was_running = local_postgres.postgres_status(port) is not None
    server = local_postgres.ensure_postgres(port)
    name = f"mecc_fault_{uuid.uuid4().hex[:8]}"
    url = local_postgres.create_database(server, name)
    migrate(url)
    try:
        yield url
    finally:
        local_postgres.ensure_postgres(port)
        local_postgres.drop_database(server, name)
        if not was_running:
            local_postgres.stop_postgres(port)
        if throwaway:
            shutil.rmtree(local_postgres._layout(port).data, ignore_errors=True)


def _ready(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def test_consumers_pause_while_the_database_is_away_and_skip_nothing(
    kafka_bootstrap: str, own_database: str, port: int, tmp_path: Path, summary: Summary,
) -> None:
    env = service_env(kafka=kafka_bootstrap, database_url=own_database)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    references: list[str] = []
    try:
        with running_stack(env, tmp_path, names=("router",)) as stack:
            router = stack.services["router"]
            wait_until(lambda: _ready(router.port) == 200, 60, "the router to be ready")

            def stream() -> None:
                for i in range(REPORTS):
                    c = PublicContact(
                        reference=new_reference(),
                        # anonymous, and no watch takes drugs: nothing for later feedback workers to send
                        report=ReportDetails(category="drugs", description=f"Dealing, fault report {i}",
                                             location=Location(postcode="MK42 8AA")),
                    )
                    producer.send("contacts.public", key=c.reference.encode(),
                                  value=c.model_dump_json().encode()).get(10)
                    references.append(c.reference)
                    time.sleep(0.2)

            sender = threading.Thread(target=stream)
            sender.start()
            wait_until(lambda: routed_count(own_database, list(references)) >= 5, 60, "some reports routed")
            local_postgres.stop_postgres(port)
            wait_until(lambda: _ready(router.port) == 503, 30, "the router to say it is not ready")
            time.sleep(5)  # reports keep arriving meanwhile
            local_postgres.ensure_postgres(port)
            sender.join(60)
            wait_until(lambda: routed_count(own_database, references) == REPORTS, 120, "every report routed")
            wait_until(lambda: _ready(router.port) == 200, 30, "the router to be ready again")
            seen = scrape(router.port)
    finally:
        producer.close()

    ids = routed_event_ids(kafka_bootstrap, set(references))
    summary.reports_sent = summary.accepted = REPORTS
    summary.routed = routed_count(own_database, references)
    summary.duplicates = sum(len(v) - 1 for v in ids.values())
    summary.lost = REPORTS - summary.routed + sum(1 for r in references if r not in ids)
    assert total(seen, "mecc_transient_retries_total", service="router") > 0, "the database was never missed"
    assert total(seen, "mecc_dead_letters_total") == 0, "an event was dead-lettered instead of retried"
    summary.check()
