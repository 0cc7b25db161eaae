"""When a message may go out: SMS quiet hours and safe windows, across GMT and BST."""

from datetime import UTC, datetime, time

from schemas import Channel, SafeWindow
from services.feedback.policy import QuietHours, earliest_send, retry_delay

WEEKDAYS_9_TO_3 = (SafeWindow(days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(15)),)


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_sms_in_quiet_hours_waits_until_eight_uk_time_in_winter_and_summer():
    assert earliest_send(Channel.SMS, at(2026, 11, 22, 22, 30)) == at(2026, 11, 23, 8, 0)  # GMT
    assert earliest_send(Channel.SMS, at(2026, 7, 1, 20, 30)) == at(2026, 7, 2, 7, 0)  # 21:30 BST
    assert earliest_send(Channel.SMS, at(2026, 11, 23, 3, 0)) == at(2026, 11, 23, 8, 0)


def test_sms_outside_quiet_hours_and_email_any_time_go_at_once():
    assert earliest_send(Channel.SMS, at(2026, 11, 23, 12, 0)) == at(2026, 11, 23, 12, 0)
    assert earliest_send(Channel.EMAIL, at(2026, 11, 22, 23, 59)) == at(2026, 11, 22, 23, 59)


def test_equal_quiet_start_and_end_means_no_quiet_hours():
    none = QuietHours(time(0, 0), time(0, 0))
    assert earliest_send(Channel.SMS, at(2026, 11, 22, 23, 0), quiet=none) == at(2026, 11, 22, 23, 0)


def test_safe_windows_hold_a_message_until_the_next_safe_time():
    saturday = at(2026, 11, 21, 10, 0)
    assert earliest_send(Channel.EMAIL, saturday, windows=WEEKDAYS_9_TO_3) == at(2026, 11, 23, 9, 0)
    inside = at(2026, 11, 24, 11, 0)
    assert earliest_send(Channel.EMAIL, inside, windows=WEEKDAYS_9_TO_3) == inside
    after = at(2026, 11, 24, 15, 30)
    assert earliest_send(Channel.SMS, after, windows=WEEKDAYS_9_TO_3) == at(2026, 11, 25, 9, 0)


def test_an_evening_safe_window_still_respects_sms_quiet_hours():
    evening = (SafeWindow(start=time(19), end=time(23)),)
    assert earliest_send(Channel.SMS, at(2026, 11, 23, 18, 0), windows=evening) == at(2026, 11, 23, 19, 0)
    assert earliest_send(Channel.SMS, at(2026, 11, 23, 21, 30), windows=evening) == at(2026, 11, 24, 19, 0)
    assert earliest_send(Channel.EMAIL, at(2026, 11, 23, 21, 30), windows=evening) == at(2026, 11, 23, 21, 30)


def test_retry_delays_grow_exponentially_with_jitter_and_a_cap():
    delays = [retry_delay(n, base=2.0, cap=60.0, jitter=0.5) for n in range(1, 8)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert retry_delay(3, base=2.0, cap=60.0, jitter=0.0) == 4.0
    assert retry_delay(3, base=2.0, cap=60.0, jitter=0.999) < 12.0
