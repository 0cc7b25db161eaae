"""Promise 6: a person who gave safe times is written to only inside them, checked at the moment
of sending: never "rather than never", never late after an outage, never on a retry that slips
out of the window, never by SMS in quiet hours."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Channel, ContactPreferences, Informant, SafeWindow, Weekday
from schemas import MessageStatus as S
from services.feedback.policy import QuietHours, earliest_send, window_problem
from services.feedback.senders import Outgoing, Sent, TransientSendError
from tests.unit.feedback_world import EMAIL, PHONE, World

UK = ZoneInfo("Europe/London")
WEEKDAYS = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
NINE_TO_TEN = (SafeWindow(days=WEEKDAYS, start=time(9), end=time(10)),)


def guarded(windows: tuple[SafeWindow, ...], channel: Channel = Channel.SMS) -> Informant:
    """Someone reporting domestic abuse who said the channel is safe in these times only."""
    return Informant(phone=PHONE, email=EMAIL, preferences=ContactPreferences(
        channel=channel, safe_to_contact=True, safe_times="as given", safe_windows=windows))


class ClockedSender:
    """A sender that notes the moment of each send (the world's clock), and can fail."""

    def __init__(self, name: str, world: World) -> None:
        self.name, self.world = name, world
        self.sent: list[Outgoing] = []
        self.at: list[datetime] = []
        self.failures: list[Exception] = []

    async def send(self, message: Outgoing) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        self.at.append(self.world.now)
        return Sent(self.name, f"{self.name}-{len(self.sent)}")

    async def close(self) -> None:
        pass


def clocked(world: World) -> tuple[ClockedSender, ClockedSender]:
    sms, email = ClockedSender("twilio", world), ClockedSender("sendgrid", world)
    world.use_sender(Channel.SMS, sms)
    world.use_sender(Channel.EMAIL, email)
    return sms, email


def test_an_sms_window_wholly_inside_quiet_hours_is_never_texted_and_says_why(tmp_path):
    world = World(tmp_path)
    sms, email = clocked(world)
    item = world.routed("domestic-abuse", guarded((SafeWindow(start=time(22), end=time(23)),)))
    world.acknowledge(item)
    for _ in range(10):
        world.tick(timedelta(hours=5))
    assert sms.sent == [] and email.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == S.SUPPRESSED and "no safe time" in (message.detail or "")


def test_a_window_that_never_opens_on_sms_has_no_send_time():
    inside_quiet = (SafeWindow(start=time(22), end=time(23)),)
    assert earliest_send(Channel.SMS, datetime(2026, 11, 23, 12, tzinfo=UTC), windows=inside_quiet) is None
    assert window_problem(inside_quiet, Channel.SMS) is not None
    assert window_problem(inside_quiet, Channel.EMAIL) is None


def test_a_message_whose_window_passed_during_an_outage_waits_for_the_next_window(tmp_path):
    world = World(tmp_path)  # Monday 12:00: the 09:00-10:00 window has passed
    sms, _ = clocked(world)
    item = world.routed("domestic-abuse", guarded(NINE_TO_TEN))
    world.acknowledge(item)
    assert sms.sent == []
    # the worker is down from Tuesday 08:00 until Tuesday 15:00: the window came and went
    world.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    world.run(world.timers.send_due())
    assert sms.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == S.SCHEDULED and message.due_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    world.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    world.run(world.timers.send_due())
    assert sms.at == [datetime(2026, 11, 25, 9, 0, tzinfo=UTC)]


def test_a_retry_that_would_fall_outside_the_window_waits_for_the_next_one(tmp_path):
    world = World(tmp_path)
    world.now = datetime(2026, 11, 24, 9, 59, 59, tzinfo=UTC)  # Tuesday, one second before the window shuts
    world.delivery._jitter = lambda: 0.9  # the retry is due 1.4 s later: after the window shuts
    sms, _ = clocked(world)
    sms.failures = [TransientSendError("twilio 503")]
    item = world.routed("domestic-abuse", guarded(NINE_TO_TEN))
    world.acknowledge(item)
    (message,) = world.messages(item.reference)
    assert message.status == S.RETRYING and message.due_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    world.tick(timedelta(seconds=2))  # the retry delay passed, outside the window: nothing goes
    assert sms.sent == []
    world.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    world.run(world.timers.send_due())
    assert sms.at == [datetime(2026, 11, 25, 9, 0, tzinfo=UTC)]


def test_a_backlogged_sms_to_an_ordinary_informant_waits_out_quiet_hours(tmp_path):
    world = World(tmp_path)
    sms, _ = clocked(world)
    sms.failures = [TransientSendError("twilio 503")]
    item = world.routed("speeding", Informant(phone=PHONE))
    world.acknowledge(item)
    world.now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # the worker comes back in the night
    world.run(world.timers.send_due())
    assert sms.sent == []
    world.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    world.run(world.timers.send_due())
    assert sms.at == [datetime(2026, 11, 24, 8, 0, tzinfo=UTC)]


# ---- the property: no guarded message is ever sent outside its window ------------------------

def _inside(at: datetime, channel: Channel, windows: tuple[SafeWindow, ...], quiet: QuietHours) -> bool:
    """The oracle, written apart from the policy: UK wall clock inside a window, and for SMS
    outside quiet hours."""
    local = at.astimezone(UK)
    clock, day = local.time(), list(Weekday)[local.weekday()]
    if not any(day in w.days and w.start <= clock < w.end for w in windows):
        return False
    if channel is Channel.SMS and quiet.start != quiet.end:
        in_quiet = (clock >= quiet.start or clock < quiet.end) if quiet.start > quiet.end else (
            quiet.start <= clock < quiet.end)
        return not in_quiet
    return True


quarter_hours = st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def windows_(draw: st.DrawFn) -> SafeWindow:
    start, end = sorted(draw(st.lists(st.integers(0, 95), min_size=2, max_size=2, unique=True)))
    days = draw(st.lists(st.sampled_from(list(Weekday)), min_size=1, max_size=7, unique=True))
    return SafeWindow(days=tuple(days), start=time(start // 4, start % 4 * 15),
                      end=time(end // 4, end % 4 * 15) if end < 96 else time(23, 59))


_TEMPLATE: list[Path] = []


def _fresh_world() -> World:
    """A world on a copy of one migrated store (migrating for every example is slow)."""
    if not _TEMPLATE:
        first = Path(tempfile.mkdtemp())
        World(first)
        _TEMPLATE.append(first / "store.db")
    here = Path(tempfile.mkdtemp())
    shutil.copy(_TEMPLATE[0], here / "store.db")
    return World(here)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    windows=st.lists(windows_(), min_size=1, max_size=3).map(tuple),
    quiet=st.tuples(quarter_hours, quarter_hours).map(lambda t: QuietHours(*t)),
    channel=st.sampled_from([Channel.SMS, Channel.EMAIL]),
    start=st.integers(0, 365 * 24 * 4).map(lambda q: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * q)),
    steps=st.lists(st.tuples(st.integers(1, 4 * 24 * 60), st.booleans()), min_size=1, max_size=12),
    fail_first=st.booleans(),
)
def test_no_guarded_message_is_ever_sent_outside_its_window(windows, quiet, channel, start, steps, fail_first):
    world = _fresh_world()
    world.now = start
    world.delivery.rules = replace(world.delivery.rules, quiet=quiet, attempts=20)
    world.delivery._jitter = lambda: 0.5
    sms, email = clocked(world)
    sender = sms if channel is Channel.SMS else email
    if fail_first:
        sender.failures.append(TransientSendError("503"))
    item = world.routed("domestic-abuse", guarded(windows, channel))
    world.acknowledge(item)
    for minutes, fails in steps:  # the worker wakes after anything from a minute to four days
        if fails:
            sender.failures.append(TransientSendError("503"))
        world.tick(timedelta(minutes=minutes))
    for at in sms.at + email.at:
        assert _inside(at, channel, windows, quiet), f"sent at {at.astimezone(UK)} outside {windows} / {quiet}"
    if window_problem(windows, channel, quiet) is not None:
        assert sms.sent == email.sent == []
        assert {m.status for m in world.messages(item.reference)} == {S.SUPPRESSED}
