"""What the track page says about each message the informant was sent or will be sent (pure): every
state of a message row in words, the fallback to the other channel, and nothing about why a message
was held back. Every time is given: no wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.pages_views import message_entries, message_timeline_entry, until_words

#: 22:30 UK time on a winter evening (GMT): inside SMS quiet hours (21:00-08:00).
NIGHT = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
NEXT_8AM = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
#: 22:30 UK summer time (BST, UTC+1), and 08:00 BST the next morning.
SUMMER_NIGHT = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)
SUMMER_8AM = datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def row(status: str, *, channel: str = "sms", trigger: str = "ack", due_at: datetime | None = None,
        created_at: datetime = NIGHT, updated_at: datetime | None = None, detail: str | None = None,
        role: str = "informant") -> dict[str, Any]:
    return {"trigger": trigger, "role": role, "channel": channel, "status": status, "due_at": due_at,
            "created_at": created_at, "updated_at": updated_at or created_at, "detail": detail}


def entry(*rows: dict[str, Any], now: datetime = NIGHT) -> tuple[str, str]:
    found = message_timeline_entry(rows, now)
    assert found is not None
    return found.title, found.text


# ---- one state at a time -----------------------------------------------------------------------


def test_an_sms_held_for_quiet_hours_says_it_is_waiting_until_8am_not_that_it_was_sent():
    title, text = entry(row("scheduled", due_at=NEXT_8AM))
    assert title == "Acknowledgement waiting to be sent"
    assert text == "By text message: waiting until 08:00 tomorrow (quiet hours for text messages)."
    assert "sent you" not in title and "We sent" not in title


def test_quiet_hours_are_read_in_uk_summer_time():
    _, text = entry(row("scheduled", due_at=SUMMER_8AM, created_at=SUMMER_NIGHT), now=SUMMER_NIGHT)
    assert text == "By text message: waiting until 08:00 tomorrow (quiet hours for text messages)."


def test_after_midnight_the_wait_ends_today():
    after_midnight = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    _, text = entry(row("scheduled", due_at=NEXT_8AM, created_at=after_midnight), now=after_midnight)
    assert text == "By text message: waiting until 08:00 (quiet hours for text messages)."


def test_a_wait_that_is_not_quiet_hours_gives_the_time_but_no_reason():
    """A sensitive report's safe window (here from 18:00) is never named: only when it will go."""
    morning = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    title, text = entry(row("scheduled", due_at=datetime(2026, 12, 1, 18, 0, tzinfo=UTC), created_at=morning),
                        now=morning)
    assert title == "Acknowledgement waiting to be sent"
    assert text == "By text message: waiting until 18:00."


def test_the_survey_waits_days_and_names_the_day():
    closed = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    title, text = entry(row("scheduled", channel="email", trigger="survey",
                            due_at=closed + timedelta(days=3), created_at=closed), now=closed)
    assert title == "Question about how we did waiting to be sent"
    assert text == "By email: waiting until 10:00 on Friday 4 December."


@pytest.mark.parametrize("status", ["scheduled", "retrying"])
def test_a_message_whose_time_has_come_is_being_sent(status):
    title, text = entry(row(status, due_at=NEXT_8AM), now=NEXT_8AM + timedelta(seconds=5))
    assert (title, text) == ("Acknowledgement being sent", "Now being sent by text message.")


def test_a_message_a_worker_holds_is_being_sent():
    assert entry(row("sending", updated_at=NEXT_8AM)) == ("Acknowledgement being sent",
                                                          "Now being sent by text message.")


def test_a_retry_says_it_will_try_again():
    title, text = entry(row("retrying", due_at=NIGHT + timedelta(seconds=30)))
    assert title == "Acknowledgement waiting to be sent"
    assert text == "Not sent by text message at the first try: we will try again shortly."


@pytest.mark.parametrize("status", ["sent", "outbox"])
def test_a_sent_message_says_so_at_the_time_it_went(status):
    found = message_timeline_entry([row(status, due_at=None, updated_at=NEXT_8AM)], NEXT_8AM)
    assert found is not None
    assert (found.title, found.text, found.at) == ("We sent you an acknowledgement", "Sent by text message.",
                                                   NEXT_8AM)


def test_a_delivered_message_says_it_was_delivered():
    assert entry(row("delivered", channel="email")) == ("We sent you an acknowledgement",
                                                        "Sent by email and delivered.")


def test_a_failed_message_says_it_failed():
    assert entry(row("failed", detail="twilio 21211 invalid number")) == (
        "We could not send you an acknowledgement", "Sending by text message failed.")


@pytest.mark.parametrize("status", ["undelivered", "bounced"])
def test_a_message_that_never_arrived_says_it_was_not_delivered(status):
    assert entry(row(status)) == ("We could not send you an acknowledgement",
                                  "Sent by text message, but it was not delivered.")


def test_an_interrupted_send_says_it_may_not_have_arrived_and_was_not_repeated():
    title, text = entry(row("unconfirmed"))
    assert title == "Acknowledgement may not have reached you"
    assert "interrupted" in text and "would not get it twice" in text


def test_a_send_being_checked_with_the_provider_says_so_and_promises_no_second_copy():
    title, text = entry(row("ambiguous"))
    assert title == "Acknowledgement may not have reached you"
    assert "checking whether it went" in text and "only if it did not" in text


def test_an_opted_out_channel_says_the_address_asked_us_to_stop():
    assert entry(row("opted_out", detail="opted out (STOP)")) == (
        "Acknowledgement not sent", "Not sent by text message: this number asked us to stop sending text messages.")
    assert entry(row("opted_out", channel="email"))[1] == (
        "Not sent by email: this email address asked us to stop sending emails.")


@pytest.mark.parametrize("reason", ["sensitive category and the channel was not confirmed safe",
                                    "anonymous: no contact details", "no phone or email given"])
def test_a_suppressed_message_is_not_sent_in_neutral_words_that_never_say_why(reason):
    title, text = entry(row("suppressed", channel="none", detail=reason, trigger="action:1"))
    assert title == "Update on what was done not sent"
    assert text == ("We have not sent you this by text message or email. "
                    "Any news about your report is shown on this page.")
    for why in ("safe", "sensitive", "anonymous", "contact details", "consent", reason):
        assert why not in title + text


def test_an_unknown_state_claims_nothing():
    assert entry(row("something-new")) == ("Acknowledgement", "We cannot tell yet what happened to this message.")


def test_a_standby_copy_on_its_own_is_not_shown():
    assert message_timeline_entry([row("standby", channel="email")], NIGHT) is None


# ---- the other channel ------------------------------------------------------------------------------


def test_a_sent_sms_hides_its_unused_email_standby():
    assert entry(row("sent"), row("standby", channel="email")) == ("We sent you an acknowledgement",
                                                                   "Sent by text message.")


def test_a_failed_sms_replaced_by_email_says_failed_then_sent_by_email_instead():
    title, text = entry(row("failed"), row("sent", channel="email", updated_at=NIGHT + timedelta(minutes=1)))
    assert title == "We sent you an acknowledgement"
    assert text == "Sending by text message failed. Sent by email instead."


def test_an_undelivered_email_replaced_by_an_sms_waiting_for_quiet_hours():
    title, text = entry(row("bounced", channel="email", created_at=NIGHT - timedelta(hours=1)),
                        row("scheduled", due_at=NEXT_8AM, created_at=NIGHT - timedelta(hours=1), updated_at=NIGHT))
    assert title == "Acknowledgement waiting to be sent"
    assert text == ("Sent by email, but it was not delivered. "
                    "By text message instead: waiting until 08:00 tomorrow (quiet hours for text messages).")


def test_both_channels_failing_says_so():
    title, text = entry(row("undelivered"), row("failed", channel="email"))
    assert title == "We could not send you an acknowledgement"
    assert text == "Sent by text message, but it was not delivered. Sending by email instead failed."


def test_an_opted_out_sms_sent_by_email_instead():
    assert entry(row("opted_out"), row("delivered", channel="email"))[1] == (
        "Not sent by text message: this number asked us to stop sending text messages. "
        "Sent by email instead and delivered.")


# ---- the page's list -----------------------------------------------------------------------------


def test_one_entry_per_message_to_the_informant_only():
    rows = [row("sent", trigger="ack"), row("standby", channel="email", trigger="ack"),
            row("scheduled", trigger="survey", due_at=NEXT_8AM + timedelta(days=3)),
            row("sent", trigger="watch:w1:c1", role="coordinator"),
            row("suppressed", channel="none", trigger="ack", role="subject")]
    assert [e.title for e in message_entries(rows, NIGHT)] == [
        "We sent you an acknowledgement", "Question about how we did waiting to be sent"]


def test_until_words_in_uk_local_time():
    assert until_words(NEXT_8AM, NIGHT) == "08:00 tomorrow"
    assert until_words(NEXT_8AM, NEXT_8AM - timedelta(hours=1)) == "08:00"
    assert until_words(SUMMER_8AM + timedelta(days=2), SUMMER_NIGHT) == "08:00 on Saturday 4 July"
