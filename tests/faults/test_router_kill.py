"""SIGKILL the router in the middle of a stream of reports and restart it: every report is
routed exactly once in the store, and none is lost."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from harness.faults import Summary, report_body, routed_count, routed_event_ids, scrape
from harness.processes import running_stack, service_env, wait_until
from services.common.metrics import total

pytestmark = pytest.mark.faults

REPORTS = 60


def test_killing_the_router_mid_stream_loses_and_repeats_nothing(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, summary: Summary,
) -> None:
    env = service_env(kafka=kafka_bootstrap, database_url=database_url, extra={"RATE_LIMIT_PER_MINUTE": "0"})
    accepted: list[str] = []
    # this run's own keys (a key decides the reference): the broker may hold an earlier run's reports
    run = uuid.uuid4().hex[:8]
    with running_stack(env, tmp_path, names=("router", "intake")) as stack:
        router = stack.services["router"]

        def submit() -> None:
            with stack.client() as client:
                for i in range(REPORTS):
                    response = client.post("/v1/reports", json=report_body(i, anonymous=True),
                                           headers={"Idempotency-Key": f"router-kill-{i}-{run}"})
                    assert response.status_code == 202, response.text
                    accepted.append(response.json()["reference"])
                    time.sleep(0.05)

        sender = threading.Thread(target=submit)
        sender.start()
        wait_until(lambda: routed_count(database_url, list(accepted)) >= REPORTS // 4, 60, "some reports routed")
        router.kill(signal.SIGKILL)
        routed_before_kill = routed_count(database_url, list(accepted))
        time.sleep(1)
        router.start()
        sender.join(120)
        wait_until(lambda: routed_count(database_url, accepted) == len(accepted), 120, "every report routed")
        intake = scrape(stack.services["intake"].port)
        after = scrape(router.port)

    summary.reports_sent = REPORTS
    summary.accepted = int(total(intake, "mecc_reports_received_total", kind="public"))
    ids = routed_event_ids(kafka_bootstrap, set(accepted))
    summary.routed = routed_count(database_url, accepted)
    summary.duplicates = sum(len(v) - 1 for v in ids.values()) + (len(accepted) - len(set(accepted)))
    summary.lost = len(set(accepted)) - summary.routed + sum(1 for r in accepted if r not in ids)
    assert summary.accepted == REPORTS
    assert 0 < routed_before_kill < REPORTS, "the kill did not land mid-stream"
    # the restarted router routed the rest, and says so on its own /metrics
    assert total(after, "mecc_reports_routed_total") >= REPORTS - routed_before_kill
    assert total(after, "mecc_dead_letters_total") == 0
    summary.check()
