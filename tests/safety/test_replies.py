"""Promise 7: what someone writes back is read, not swallowed. Only a reply that is just an
answer counts as a survey answer; everything else is routed as new information and read for
danger now (flagged for the control room, the person told to call 999). Quoted text in an
email reply is not read as theirs. A watch coordinator's reply is never taken for the
informant's. A reply about a sensitive report keeps the report's safety rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from schemas import (
    CaseUpdate,
    Channel,
    ContactPreferences,
    Flag,
    InboundMessage,
    Informant,
    Outcome,
    SafeWindow,
    UpdateKind,
)
from schemas import MessageStatus as S
from services.common.streams import PermanentFailure
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import routed_item
from services.store import messages as store
from services.store.models import SurveyAnswer
from tests.fakes.store import record_routing
from tests.safety.test_sensitive_reports import _routed
from tests.unit.feedback_world import EMAIL, PHONE, World, claim_one

KNIFE = "No. He came back tonight with a knife and said he would hurt my 2 kids"


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_routing_config()


def surveyed(world: World, informant: Informant | None = None):
    """A closed report whose informant has been sent the survey."""
    item = world.routed(informant=informant)
    closure = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                         kind=UpdateKind.CLOSURE, outcome=Outcome.ACTION_TAKEN, public_text="We spoke to him.",
                         emitted_at=world.now)
    world.run(world.handlers.on_case_update(closure))
    world.tick(timedelta(days=3, hours=1))
    assert any("1 (very unhappy)" in m.body for m in world.sms.sent + world.email.sent)
    return item


def answers(world: World, reference: str) -> dict[str, str]:
    with world.sessions() as s:
        return {a.question: a.answer for a in s.query(SurveyAnswer).filter_by(reference=reference)}


def reply(world: World, body: str, channel: Channel = Channel.SMS, sender: str = PHONE) -> None:
    world.run(world.replies.on_inbound(InboundMessage(channel=channel, sender=sender, body=body,
                                                      emitted_at=world.now)))


def test_a_reply_reporting_danger_after_a_survey_is_routed_flagged_and_answered_with_999(tmp_path, config):
    world = World(tmp_path)
    item = surveyed(world)
    reply(world, KNIFE)
    assert answers(world, item.reference) == {}  # not "satisfaction 2, kept informed N"
    (contact,) = world.contacts
    assert contact.related_reference == item.reference and contact.report.description == KNIFE
    # the router reads it like any report: danger now, to the control room, the informant told 999
    routed = routed_item(contact, config)
    assert Flag.DANGER in routed.flags
    assert "force-control-room" in {d.id for d in routed.destinations}
    assert routed.informant_notice and "999" in routed.informant_notice
    sent_before = len(world.sms.sent)
    with world.sessions() as s:
        record_routing(s, routed)
    world.acknowledge(routed)
    (ack,) = world.sms.sent[sent_before:]
    assert "danger now" in ack.body and "999" in ack.body


@pytest.mark.parametrize("body", ["4", "4 Y", "no", "5 yes"])
def test_a_reply_that_is_just_an_answer_is_recorded_as_one(tmp_path, body):
    world = World(tmp_path)
    item = surveyed(world)
    reply(world, body)
    assert answers(world, item.reference) and world.contacts == []


def test_quoted_text_in_an_email_reply_is_not_read_as_the_persons_answer_or_words(tmp_path):
    world = World(tmp_path)
    item = surveyed(world, Informant(email=EMAIL))
    body = ("He has started waiting outside the school again.\n\n"
            "On Mon, 23 Nov 2026 at 12:00, Police <noreply@report.example>\nwrote:\n"
            "> How satisfied are you? Reply with a number from 1 (very unhappy) to 5 (very happy).\n"
            "> Did you feel kept informed? Add Y or N to your reply, for example: 4 Y\n")
    reply(world, body, Channel.EMAIL, EMAIL)
    assert answers(world, item.reference) == {}
    (contact,) = world.contacts
    assert contact.report.description == "He has started waiting outside the school again."


def test_an_answer_above_a_quoted_survey_in_an_email_is_read(tmp_path):
    world = World(tmp_path)
    item = surveyed(world, Informant(email=EMAIL))
    reply(world, "2 N\n\n> Reply with a number from 1 to 5\n> for example: 4 Y\n-- \nSam", Channel.EMAIL, EMAIL)
    assert answers(world, item.reference) == {"satisfaction": "2", "kept_informed": "N"}


def test_a_coordinators_reply_is_never_attached_as_the_informants_new_information(tmp_path):
    world = World(tmp_path)
    item = world.routed()
    world.acknowledge(item)
    coordinator = "+447700900999"
    with world.sessions() as s:
        claim = claim_one(s, store.Draft(key=f"{item.reference}:watch:w:c:sms", reference=item.reference,
                                         trigger="watch:w:c", role="coordinator", channel="sms",
                                         recipient=coordinator, body="b", due_at=world.now), world.now)
        store.settle(s, claim.message_id, status=S.SENT, at=world.now)
    with pytest.raises(PermanentFailure):
        reply(world, "We patrolled there last night, all quiet", sender=coordinator)
    assert world.contacts == []


def test_a_reply_about_a_sensitive_report_is_answered_only_in_the_persons_safe_times(tmp_path, config):
    world = World(tmp_path)  # Monday 12:00
    nine_to_ten = SafeWindow(start=time(9), end=time(10))
    informant = Informant(phone=PHONE, preferences=ContactPreferences(safe_to_contact=True,
                                                                      safe_windows=(nine_to_ten,)))
    item = _routed(world, config, "He hits her every weekend, you can hear it", informant)  # sensitive by words
    world.acknowledge(item)
    world.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    world.run(world.timers.send_due())
    assert len(world.sms.sent) == 1
    world.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    reply(world, "Can someone ring me back please")
    (contact,) = world.contacts
    routed = routed_item(contact.model_copy(update={"received_at": world.now}), config)
    with world.sessions() as s:
        record_routing(s, routed)
    world.acknowledge(routed)
    assert len(world.sms.sent) == 1  # not at 12:00: only in the 09:00-10:00 window
    (ack,) = world.messages(routed.reference)
    assert ack.status == S.SCHEDULED and ack.due_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
