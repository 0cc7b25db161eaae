"""Promise 9: an email counts as someone's reply only if it is theirs.

An email's From is whatever the sender typed. Each email we send carries its own reply address
(``reply+<token>@<inbound domain>``, the token bound to that message and the address it went
to); an inbound email is that person's reply only if it came to such an address with a token
valid for its sender, and SPF and DKIM passed for the sender. Anything else is a new contact from
someone unknown: never attached to a report, never an opt-out, never a survey answer.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from schemas import CaseUpdate, Channel, InboundMessage, Informant, Outcome, UpdateKind
from schemas import MessageStatus as S
from services.common.reply_address import has_valid_token, reply_address
from services.feedback.delivery import outgoing
from services.feedback.senders.sendgrid import SendGridEmail
from services.store.messages import address_digest
from services.store.models import Message, OptOut, SurveyAnswer
from tests.fakes.intake import intake_client
from tests.unit.feedback_world import EMAIL, World

SECRET = "s3cret"
DOMAIN = "replies.report.example"
KEY = "MECC-AAAA-AAAA:update:informant:email"
PASSING = {"SPF": "pass", "dkim": "{@example.org : pass}"}


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path, sendgrid_inbound_token="inbound-secret", unsubscribe_secret=SECRET,
                       inbound_email_domain=DOMAIN) as client:
        yield client


def inbound(api, sender: str, to: str, **checks: str) -> InboundMessage:
    form = {"from": f"Someone <{sender}>", "to": to, "text": "STOP", **checks}
    assert api.post("/webhooks/sendgrid/inbound/inbound-secret", data=form).status_code == 200
    event = api.recorder.events[-1][2]
    assert isinstance(event, InboundMessage)
    return event


def test_every_email_we_send_carries_its_own_reply_address(tmp_path):
    message = Message(key=KEY, reference="MECC-AAAA-AAAA", channel="email", recipient="jo@example.org",
                      address_digest=address_digest("jo@example.org"), body="Your update", subject="Update")
    out = outgoing(message, None, reply_to=partial(reply_address, SECRET, DOMAIN))
    assert out.reply_to is not None and out.reply_to.startswith("reply+") and out.reply_to.endswith(f"@{DOMAIN}")
    assert has_valid_token(SECRET, DOMAIN, [out.reply_to], address_digest("jo@example.org"))
    assert not has_valid_token(SECRET, DOMAIN, [out.reply_to], address_digest("mallory@example.org"))
    assert SendGridEmail("key", "police@report.example")._mail(out).get()["reply_to"] == {"email": out.reply_to}


def test_an_inbound_email_is_a_reply_only_with_a_valid_token_and_spf_and_dkim_passing(api):
    mine = reply_address(SECRET, DOMAIN, KEY, address_digest("jo@example.org"))
    assert inbound(api, "jo@example.org", mine, **PASSING).authenticated is True
    # The From says Jo, but nothing shows it is Jo:
    assert inbound(api, "jo@example.org", "reports@report.example", **PASSING).authenticated is False
    assert inbound(api, "jo@example.org", mine, SPF="fail", dkim="{@example.org : pass}").authenticated is False
    assert inbound(api, "jo@example.org", mine, SPF="pass", dkim="{@mallory.example : pass}").authenticated is False
    assert inbound(api, "jo@example.org", mine).authenticated is False
    # Jo's reply address, used by someone else:
    assert inbound(api, "mallory@example.org", mine, SPF="pass",
                   dkim="{@example.org : pass}").authenticated is False
    forged = reply_address("not-our-secret", DOMAIN, KEY, address_digest("jo@example.org"))
    assert inbound(api, "jo@example.org", forged, **PASSING).authenticated is False


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_an_unauthenticated_email_is_a_new_contact_never_an_opt_out_a_survey_answer_or_a_reply(world):
    item = world.routed(informant=Informant(email=EMAIL))
    closure = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                         kind=UpdateKind.CLOSURE, outcome=Outcome.RESOLVED, public_text="Done.", emitted_at=world.now)
    world.run(world.handlers.on_case_update(closure))
    world.tick(timedelta(days=3, hours=1))
    assert any("How did we do" in (m.subject or "") for m in world.email.sent)
    for body in ("STOP", "1 N", "The van is back, and it was my neighbour who reported it"):
        world.run(world.replies.on_inbound(InboundMessage(channel=Channel.EMAIL, sender=EMAIL, body=body,
                                                          emitted_at=world.now, authenticated=False)))
    with world.sessions() as s:
        assert s.query(OptOut).count() == 0
        assert s.query(SurveyAnswer).count() == 0
    assert [c.related_reference for c in world.contacts] == [None, None, None]
    assert [c.received_at for c in world.contacts] == [world.now] * 3
    assert all(c.informant is None for c in world.contacts)
    assert all(m.status != S.OPTED_OUT for m in world.messages(item.reference))
