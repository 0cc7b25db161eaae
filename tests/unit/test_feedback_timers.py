"""The feedback worker's timers: holding updates, daily digests, and how every timer keeps going."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.config_files import DEFAULT_ROUTING_DIR
from services.feedback.coordinators import load_directory
from services.feedback.timers import keep_going
from tests.fakes.store import record_watch_items
from tests.unit.feedback_world import (
    World,
    watch_item,
)


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_a_quiet_report_gets_one_holding_update_per_silence(world):
    item = world.routed()
    world.acknowledge(item)
    world.now += timedelta(days=6)
    assert world.run(world.timers.send_holding_updates()) == 0
    world.now += timedelta(days=2)
    world.run(world.timers.send_holding_updates())
    world.run(world.timers.send_holding_updates())
    assert len(world.sms.sent) == 2 and "still open" in world.sms.sent[1].body


@pytest.fixture
def coordinated(tmp_path) -> World:
    return World(tmp_path, directory=load_directory(DEFAULT_ROUTING_DIR))


def test_digest_watches_get_one_message_a_day_after_the_digest_time(coordinated):
    world = coordinated
    reports = [world.routed("burglary-concern") for _ in range(3)]
    items = [watch_item(r.reference, "kempston-south-nhw", "daily_digest") for r in reports]
    with world.sessions() as s:
        record_watch_items(s, items)
    for item in items:
        world.run(world.handlers.on_watch_item(item))  # no message per item
    assert world.email.sent == [] and world.sms.sent == []
    world.now = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert world.run(world.timers.send_digests()) == 0
    world.now = datetime(2026, 11, 23, 18, 5, tzinfo=UTC)
    world.run(world.timers.send_digests())
    world.run(world.timers.send_digests())
    # the watch has an email-only and an SMS-only coordinator: one digest each
    assert len(world.email.sent) == 1 and len(world.sms.sent) == 1
    assert all(r.reference in world.email.sent[0].body for r in reports)
    assert "3 new report(s)" in world.sms.sent[0].body


def test_a_timer_that_fails_once_runs_again_at_the_next_tick(world):
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")

    tick = keep_going("send_due", flaky)
    world.run(tick())
    world.run(tick())
    assert len(calls) == 2 and tick.__name__ == "send_due"
