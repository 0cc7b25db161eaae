"""Restart the Kafka broker while reports are being submitted: the intake either accepts (and
the report arrives) or refuses with 503, and the client's retry with the same Idempotency-Key
creates no duplicate; nothing accepted is lost. Uses its own broker on port 29692
(``FAULT_KAFKA_PORT``) or, unset, on a free port: never the session's, and two test runs on one
machine do not share it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.faults import Summary, report_body, routed_count, routed_event_ids, scrape
from harness.processes import free_port, running_stack, service_env, wait_until
from infra import kafka as local_kafka
from infra.topics import create_topics
from services.common.metrics import total

pytestmark = pytest.mark.faults

REPORTS = 60


@pytest.fixture
def own_broker() -> Iterator[local_kafka.Broker]:
    port = int(os.environ.get("FAULT_KAFKA_PORT") or free_port())
    controller = port + 1 if os.environ.get("FAULT_KAFKA_PORT") else free_port()
    broker = local_kafka.Broker(port=port, controller_port=controller)
    local_kafka.reset(broker)
    create_topics(local_kafka.start(broker))
    try:
        yield broker
    finally:
        local_kafka.reset(broker)


def test_a_broker_restart_loses_nothing_accepted_and_retries_create_no_duplicates(
    own_broker: local_kafka.Broker, database_url: str, tmp_path: Path, summary: Summary,
) -> None:
    env = service_env(kafka=own_broker.bootstrap, database_url=database_url,
                      extra={"PUBLISH_TIMEOUT_SECONDS": "3", "RATE_LIMIT_PER_MINUTE": "0"})
    accepted: dict[int, str] = {}
    refused: list[int] = []
    with running_stack(env, tmp_path, names=("router", "intake")) as stack:

        def submit() -> None:
            with httpx.Client(base_url=stack.intake_url, timeout=30) as client:
                for i in range(REPORTS):
                    key = f"broker-restart-{i}-{tmp_path.name}"
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline:
                        try:
                            response = client.post("/v1/reports", json=report_body(i, anonymous=True),
                                                   headers={"Idempotency-Key": key})
                        except httpx.TransportError:
                            refused.append(0)
                            time.sleep(0.5)
                            continue
                        if response.status_code == 202:
                            accepted[i] = response.json()["reference"]
                            break
                        assert response.status_code == 503, response.text
                        assert response.headers.get("Retry-After")
                        refused.append(503)
                        time.sleep(0.5)  # shorter than Retry-After: the test has a deadline
                    time.sleep(0.05)

        sender = threading.Thread(target=submit)
        sender.start()
        wait_until(lambda: len(accepted) >= REPORTS // 4, 60, "some reports accepted")
        local_kafka.stop(own_broker)
        time.sleep(5)
        local_kafka.start(own_broker)
        sender.join(240)
        refs = list(accepted.values())
        wait_until(lambda: routed_count(database_url, refs) == len(refs), 120, "every accepted report routed")
        intake = scrape(stack.services["intake"].port)

    ids = routed_event_ids(own_broker.bootstrap, set(refs))
    summary.reports_sent = REPORTS
    summary.accepted = len(accepted)
    summary.refused = len(refused)
    summary.routed = routed_count(database_url, refs)
    summary.duplicates = sum(len(v) - 1 for v in ids.values()) + (len(refs) - len(set(refs)))
    summary.lost = len(refs) - summary.routed + sum(1 for r in refs if r not in ids)
    assert len(accepted) == REPORTS, f"gave up on {REPORTS - len(accepted)} reports"
    assert total(intake, "mecc_reports_received_total") >= len(accepted)
    summary.check()
