import pytest

from schemas import CaseUpdate, Channel, Destination, Outcome, UpdateKind
from schemas.events import new_reference
from services.feedback import sms, templates

REF = new_reference()
TEAMS = (Destination(kind="team", id="kempston-npt", name="Kempston neighbourhood team"),)


def update(**kw):
    fields = {"reference": REF, "actor_id": "kempston-npt", "actor_name": "Kempston neighbourhood team",
              "public_text": "Officers patrolled Bedford Road on three evenings this week"}
    return CaseUpdate(**(fields | kw))


def test_gsm7_segments_are_counted_like_a_phone_does():
    assert sms.segments("a" * 160) == 1
    assert sms.segments("a" * 161) == 2
    assert sms.segments("a" * 306) == 2
    assert sms.segments("a" * 307) == 3
    assert sms.segments("[" * 80) == 1  # extended characters cost two septets
    assert sms.segments("[" * 81) == 2
    assert sms.segments("a" * 70 + "\u2019") == 2  # one curly quote forces UCS-2


def test_normalising_keeps_the_message_in_gsm7():
    text = "It\u2019s \u201cfine\u201d \u2013 caf\u00e9\u2026 \U0001f600 \u0141\u00f3d\u017a"
    out = sms.normalise(text)
    assert sms.is_gsm7(out)
    assert out.startswith("It's \"fine\" - caf\u00e9...")


def test_sms_acknowledgement_has_reference_who_has_it_and_999_in_two_segments():
    r = templates.acknowledgement(Channel.SMS, reference=REF, category_label="Speeding and road safety",
                                  destinations=TEAMS)
    assert REF in r.body
    assert "Kempston neighbourhood team has it" in r.body
    assert "call 999" in r.body
    assert sms.is_gsm7(r.body) and sms.segments(r.body) <= 2


def test_redirect_acknowledgement_says_who_handles_it():
    dest = (Destination(kind="redirect", id="council", name="Council",
                        public_message="This is dealt with by the council, not the police."),)
    r = templates.acknowledgement(Channel.SMS, reference=REF, category_label="Fly-tipping", destinations=dest)
    assert "dealt with by the council" in r.body


@pytest.mark.parametrize("length", [10, 500, 5000])
def test_every_update_sms_fits_two_segments_whatever_the_team_wrote(length):
    text = ("Officers \u201cvisited\u201d the address \U0001f694 " * 200)[:length]
    r = templates.update(Channel.SMS, reference=REF, update=update(public_text=text))
    assert sms.is_gsm7(r.body)
    assert sms.segments(r.body) <= 2
    assert REF in r.body


def test_update_sms_carries_the_teams_words():
    r = templates.update(Channel.SMS, reference=REF, update=update())
    assert "Officers patrolled Bedford Road on three evenings this week" in r.body


def test_closure_with_no_further_action_says_so_and_why():
    u = update(kind=UpdateKind.CLOSURE, outcome=Outcome.NO_FURTHER_ACTION,
               public_text="We looked into this.", outcome_reason="The vehicle could not be identified.")
    for channel in Channel:
        r = templates.update(channel, reference=REF, update=u)
        assert "No further action" in r.body
        assert "could not be identified" in r.body


def test_email_has_text_and_html_with_team_text_escaped():
    u = update(public_text="<script>alert(1)</script> & more")
    r = templates.update(Channel.EMAIL, reference=REF, update=u)
    assert r.subject and REF in r.subject
    assert "<script>" in r.body  # plain text is plain
    assert r.html is not None
    assert "<script>" not in r.html and "&lt;script&gt;" in r.html and "&amp; more" in r.html


@pytest.mark.parametrize("channel", list(Channel))
def test_holding_and_survey_messages_say_what_they_must(channel):
    held = templates.holding(channel, reference=REF, days=7)
    assert "still open" in held.body and REF in held.body
    asked = templates.survey(channel, reference=REF)
    assert "1" in asked.body and "5" in asked.body and "kept informed" in asked.body
    if channel is Channel.SMS:
        assert sms.segments(held.body) <= 2 and sms.segments(asked.body) <= 2 and sms.is_gsm7(asked.body)


def test_who_has_it_reads_naturally_for_one_two_or_three():
    def ack(*names: str) -> str:
        dests = tuple(Destination(kind="team", id=n.lower(), name=n) for n in names)
        return templates.acknowledgement(Channel.EMAIL, reference=REF, category_label="x", destinations=dests).body

    assert "Roads has it." in ack("Roads")
    assert "Roads and Kempston have it." in ack("Roads", "Kempston")
    assert "Roads, Kempston and Speed Watch have it." in ack("Roads", "Kempston", "Speed Watch")
