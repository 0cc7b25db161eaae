"""Replies: STOP and START, survey answers, and new information attached to the report."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas import (
    CaseUpdate,
    Channel,
    InboundMessage,
    Outcome,
    UpdateKind,
)
from schemas import MessageStatus as S
from tests.unit.feedback_world import (
    PHONE,
    World,
)


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_stop_suppresses_sms_and_start_resubscribes(world):
    first = world.routed()
    world.acknowledge(first)
    world.run(world.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=PHONE, body="Stop",
                                                                      emitted_at=world.now)))
    second = world.routed()
    world.acknowledge(second)
    assert len(world.sms.sent) == 1
    (opted,) = world.messages(second.reference)
    assert opted.status == S.OPTED_OUT and "STOP" in (opted.detail or "")
    world.run(world.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=PHONE, body="START",
                                                                      emitted_at=world.now)))
    world.acknowledge(world.routed())
    assert len(world.sms.sent) == 2


def test_closure_sends_the_outcome_then_a_survey_whose_answers_are_recorded(world):
    item = world.routed()
    closure = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                         kind=UpdateKind.CLOSURE, outcome=Outcome.NO_FURTHER_ACTION, public_text="We looked.",
                         outcome_reason="The car could not be identified.", emitted_at=world.now)
    world.run(world.handlers.on_case_update(closure))
    assert len(world.sms.sent) == 1 and "No further action" in world.sms.sent[0].body
    world.tick(timedelta(days=2))
    assert len(world.sms.sent) == 1
    world.tick(timedelta(days=1, hours=1))
    assert len(world.sms.sent) == 2 and "Reply 1" in world.sms.sent[1].body
    world.run(world.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=PHONE, body="4 y",
                                                                      emitted_at=world.now)))
    with world.sessions() as s:
        from services.store.models import SurveyAnswer
        answers = {a.question: a.answer for a in s.query(SurveyAnswer).filter_by(reference=item.reference)}
    assert answers == {"satisfaction": "4", "kept_informed": "Y"}
    assert world.contacts == []


def test_a_reply_that_is_not_a_keyword_becomes_a_new_linked_contact(world):
    item = world.routed()
    world.acknowledge(item)
    reply = InboundMessage(channel=Channel.SMS, sender=PHONE, body="They were back again tonight, a blue van",
                           emitted_at=world.now)
    world.run(world.replies.on_inbound(reply))
    world.run(world.replies.on_inbound(reply))
    assert len({c.event_id for c in world.contacts}) == 1
    contact = world.contacts[0]
    assert contact.related_reference == item.reference
    assert contact.report.description == "They were back again tonight, a blue van"
    assert contact.informant is not None and contact.informant.phone == PHONE
