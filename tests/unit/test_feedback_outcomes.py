"""What an outcome means, decided by pure policy functions: a send's result, a provider's
delivery callback, and the keyword or survey answer in a reply."""

from __future__ import annotations

import pytest

from schemas import DeliveryOutcome, MessageStatus
from services.feedback import policy
from services.feedback.policy import AfterDelivery, AfterSend, DeliveryRules
from services.feedback.senders import PermanentSendError, SendFailure, Sent, TransientSendError

RULES = DeliveryRules(attempts=3, backoff_base=1.0, backoff_cap=10.0)


def after_send(result, attempts=1, jitter=0.5):
    return policy.after_send(result, attempts=attempts, rules=RULES, jitter=jitter)


def test_a_receipt_is_sent_and_a_local_one_is_outbox():
    assert after_send(Sent("twilio", "SM1")) == AfterSend(MessageStatus.SENT)
    assert after_send(Sent("outbox", "outbox-1", local=True)) == AfterSend(MessageStatus.OUTBOX)


def test_a_refusal_for_good_fails_and_falls_back_without_a_retry():
    meant = after_send(PermanentSendError("twilio 400 code 21211", "21211", SendFailure.INVALID_ADDRESS))
    assert meant == AfterSend(MessageStatus.FAILED, "twilio 400 code 21211", fall_back=True)


def test_a_refusal_because_the_recipient_opted_out_records_the_opt_out_and_falls_back():
    meant = after_send(PermanentSendError("unsubscribed", "x", SendFailure.OPTED_OUT))
    assert meant == AfterSend(MessageStatus.OPTED_OUT, "unsubscribed", opted_out=True, fall_back=True)


def test_a_passing_failure_is_retried_with_a_growing_delay_until_the_attempts_run_out():
    first, second = after_send(TransientSendError("429"), 1), after_send(TransientSendError("429"), 2)
    assert (first.status, first.retry_in, first.fall_back) == (MessageStatus.RETRYING, 1.0, False)
    assert second.retry_in == 2.0
    assert after_send(TransientSendError("503"), 3) == AfterSend(
        MessageStatus.FAILED, "gave up after 3 attempts: 503", fall_back=True)


@pytest.mark.parametrize(("outcome", "opted_out", "expected"), [
    (DeliveryOutcome.DELIVERED, False, AfterDelivery(MessageStatus.DELIVERED)),
    (DeliveryOutcome.UNDELIVERED, False, AfterDelivery(MessageStatus.UNDELIVERED, fall_back=True)),
    (DeliveryOutcome.BOUNCED, False, AfterDelivery(MessageStatus.BOUNCED, fall_back=True)),
    (DeliveryOutcome.UNDELIVERED, True, AfterDelivery(MessageStatus.UNDELIVERED, opted_out=True, fall_back=True)),
    (DeliveryOutcome.PENDING, True, AfterDelivery(None, opted_out=True)),
    (DeliveryOutcome.PENDING, False, AfterDelivery(None)),
])
def test_a_delivery_callback_means(outcome, opted_out, expected):
    assert policy.after_delivery(outcome, opted_out=opted_out) == expected


@pytest.mark.parametrize(("body", "opt_out_type", "expected"), [
    ("Stop", None, (policy.Keyword.STOP, "STOP")), ("unsubscribe me", None, (policy.Keyword.STOP, "UNSUBSCRIBE")),
    ("start", None, (policy.Keyword.START, "START")), ("whatever", "STOP", (policy.Keyword.STOP, "STOP")),
    ("4 y", None, (None, "4")), ("", None, (None, "")),
])
def test_keywords_are_read(body, opt_out_type, expected):
    assert policy.keyword(body, opt_out_type) == expected


@pytest.mark.parametrize(("body", "expected"), [
    ("4 Y", {"satisfaction": "4", "kept_informed": "Y"}), ("5", {"satisfaction": "5"}),
    ("no", {"kept_informed": "N"}), ("3, yes thanks", {"satisfaction": "3", "kept_informed": "Y"}),
    ("They came back at 10pm", {}), ("4Y", {"satisfaction": "4", "kept_informed": "Y"}),
    ("No. He came back tonight with a knife and said he would hurt my 2 kids", {}),
    ("no he is back", {}), ("45", {}), ("6", {}), ("thanks", {}), ("2 of them again", {}),
])
def test_survey_replies_are_read(body, expected):
    assert policy.survey_answers(body) == expected


@pytest.mark.parametrize(("body", "channel", "expected"), [
    ("He is back\n\nOn Mon, 23 Nov 2026 at 12:00, Police <a@b.example> wrote:\n> Reply 1 to 5", "email",
     "He is back"),
    ("He is back\nOn Mon, 23 Nov 2026 at 12:00, Police <a@b.example>\nwrote:\n> 4 Y", "email", "He is back"),
    ("5\n> quoted\nmine again", "email", "5\nmine again"),
    ("Thanks\n-- \nSam Smith\n07700 900123", "email", "Thanks"),
    ("Yes\n\nSent from my iPhone", "email", "Yes"),
    ("Yes\n-----Original Message-----\nFrom: Police", "email", "Yes"),
    ("> not quoted on SMS", "sms", "> not quoted on SMS"),
])
def test_quoted_text_and_signatures_are_taken_out_of_email_replies(body, channel, expected):
    assert policy.reply_text(body, channel) == expected


@pytest.mark.parametrize(("windows", "channel", "refused"), [
    (((22, 23),), "sms", True), (((22, 23),), "email", False), (((7, 8), (21, 22)), "sms", True),
    (((7, 9),), "sms", False), ((), "sms", False),
])
def test_safe_windows_that_never_open_are_named(windows, channel, refused):
    from datetime import time

    from schemas import SafeWindow
    found = tuple(SafeWindow(start=time(a), end=time(b)) for a, b in windows)
    assert (policy.window_problem(found, channel) is not None) is refused
