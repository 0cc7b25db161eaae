"""Kill the feedback worker mid-send, again and again, and restart it: every informant has
exactly the message they should, none twice.

The worker sends a batch at a time, so each kill comes while the provider holds every message
of the batch the worker has taken for sending; reports arrive in waves, one per kill, and the
restarted worker also replays the batch it was killed in.
"""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from harness.faults import Summary
from harness.processes import provider_env, running_stack, service_env, wait_until
from harness.providers import FakeSendGrid, FakeTwilio
from schemas import Informant, RoutedItem
from tests.integration.test_feedback_kafka import publish, routed, statuses

pytestmark = pytest.mark.faults

INFORMANTS = 10
KILLS = 3
WAVE = 3  # reports per kill; the rest arrive before the last restart


def test_repeated_kills_mid_send_leave_every_informant_exactly_one_message(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, summary: Summary,
) -> None:
    numbers = [f"+4477009005{i:02d}" for i in range(INFORMANTS)]
    items = [routed(Informant(phone=n), database_url) for n in numbers]
    waves = [(items[k * WAVE:(k + 1) * WAVE], numbers[k * WAVE:(k + 1) * WAVE]) for k in range(KILLS)]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    with FakeTwilio() as twilio, FakeSendGrid() as sendgrid:
        env = service_env(kafka=kafka_bootstrap, database_url=database_url,
                          extra={**provider_env(twilio, sendgrid), "FEEDBACK_APP_ID": f"kills-{uuid.uuid4().hex[:6]}"})

        def delivered() -> int:
            return len([n for n in numbers if twilio.messages(to=n)])

        kills = 0
        try:
            for kills, (wave, wave_numbers) in enumerate(waves, start=1):
                for item in wave:
                    publish(producer, item)
                twilio.hold()
                with running_stack(env, tmp_path, names=("feedback",)) as stack:
                    # the worst moment: the provider holds every message the worker has taken for
                    # sending, their outcomes unknown to the worker
                    def in_flight(wave: list[RoutedItem] = wave, wave_numbers: list[str] = wave_numbers) -> bool:
                        taken = [sms_status(database_url, item) for item in wave].count("sending")
                        return taken > 0 and twilio.held_to(wave_numbers) == taken

                    wait_until(in_flight, 90, f"sends in flight (kill {kills})")
                    stack.services["feedback"].kill(signal.SIGKILL)
                # the provider answers into closed connections: it has the messages, the worker
                # never heard so
                twilio.release()
            for item in items[KILLS * WAVE:]:
                publish(producer, item)
            producer.close()
            with running_stack(env, tmp_path, names=("feedback",)) as stack:
                wait_until(lambda: delivered() == INFORMANTS, 120, "every informant's message")
                time.sleep(3)  # anything sent twice would arrive by now
                assert "mecc_" in httpx.get(f"http://127.0.0.1:{stack.services['feedback'].port}/metrics").text
        finally:
            twilio.release()
        counts = {n: len(twilio.messages(to=n)) for n in numbers}

    summary.reports_sent = summary.accepted = summary.routed = INFORMANTS
    summary.messages_expected = INFORMANTS
    summary.messages_sent = sum(counts.values())
    summary.duplicates = sum(max(0, c - 1) for c in counts.values())
    summary.lost = sum(1 for c in counts.values() if c == 0)
    assert kills == KILLS, "the worker was not killed repeatedly"
    summary.check()


def sms_status(database_url: str, item: RoutedItem) -> str:
    return statuses(database_url, item.reference).get("sms", ("",))[0]
