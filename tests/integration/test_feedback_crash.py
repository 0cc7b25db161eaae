"""Killing the feedback worker while a provider holds its requests: after a restart every
informant has exactly one message, and the interrupted sends are recorded, not repeated.

The worker sends a batch of acknowledgements at a time, so a kill can interrupt every message
of the batch it holds: each stays ``sending`` (``unconfirmed`` once its lease is over) and is
never sent again.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from harness.processes import provider_env, running_stack, service_env, wait_until
from harness.providers import FakeSendGrid, FakeTwilio
from schemas import Informant, RoutedItem
from tests.integration.test_feedback_kafka import publish, routed, statuses

pytestmark = pytest.mark.integration


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


def test_killing_the_worker_mid_send_leaves_no_duplicate_and_no_missing_message(
    kafka_bootstrap: str, producer: KafkaProducer, twilio: FakeTwilio, database_url: str, tmp_path: Path,
) -> None:
    with FakeSendGrid() as sendgrid:
        env = service_env(kafka=kafka_bootstrap, database_url=database_url,
                          extra={**provider_env(twilio, sendgrid), "FEEDBACK_APP_ID": f"crash-{uuid.uuid4().hex[:6]}"})
        run_crash(env, producer, twilio, database_url, tmp_path)


def run_crash(env: dict[str, str], producer: KafkaProducer, twilio: FakeTwilio, database_url: str,
              tmp_path: Path) -> None:
    numbers = [f"+4477009004{i:02d}" for i in range(6)]
    items = [routed(Informant(phone=n), database_url) for n in numbers]

    def sms_status(item: RoutedItem) -> str:
        return statuses(database_url, item.reference).get("sms", ("",))[0]

    held = 0
    try:
        with running_stack(env, tmp_path, names=("feedback",)) as stack:
            for item in items[:2]:
                publish(producer, item)
            wait_until(lambda: all(twilio.messages(to=n) for n in numbers[:2]), 60, "the first two messages")
            twilio.hold()
            for item in items[2:]:
                publish(producer, item)

            # kill at the worst moment: every message the worker has taken for sending is held by
            # the provider, the outcomes unknown to the worker
            def all_taken_in_flight() -> bool:
                taken = [sms_status(item) for item in items[2:]].count("sending")
                return taken > 0 and twilio.held_to(numbers[2:]) == taken

            wait_until(all_taken_in_flight, 60, "sends in flight")
            held = twilio.held_to(numbers[2:])
            stack.services["feedback"].kill(signal.SIGKILL)
        twilio.release()
        with running_stack(env, tmp_path, names=("feedback",)):
            wait_until(lambda: all(twilio.messages(to=n) for n in numbers), 90, "every informant's message")
            time.sleep(3)
    finally:
        twilio.release()
    counts = {n: len(twilio.messages(to=n)) for n in numbers}
    assert counts == dict.fromkeys(numbers, 1)
    settled = [sms_status(item) for item in items]
    # the interrupted sends are recorded as such, not repeated; the rest are sent
    assert settled[:2] == ["sent", "sent"]
    assert set(settled) <= {"sent", "sending", "unconfirmed"}
    assert held >= 1 and len(settled) - settled.count("sent") <= held
