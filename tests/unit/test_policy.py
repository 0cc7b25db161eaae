from schemas import ContactPreferences, Informant, Location, PublicContact, ReportDetails, ThirdPartyContact
from schemas.events import new_reference
from services.feedback.policy import plan

DETAILS = ReportDetails(category="speeding", description="x", location=Location(postcode="MK42 8AA"))


def public(informant, category="speeding"):
    details = DETAILS.model_copy(update={"category": category})
    return PublicContact(reference=new_reference(), report=details, informant=informant)


def test_an_informant_with_a_phone_hears_back_by_sms_by_default():
    p = plan(public(Informant(phone="07700900123")), sensitive=False)
    assert [(r.role, r.channel, r.address) for r in p.recipients] == [("informant", "sms", "+447700900123")]


def test_the_chosen_channel_wins():
    who = Informant(phone="07700900123", email="a@example.org", preferences=ContactPreferences(channel="email"))
    assert plan(public(who), sensitive=False).recipients[0].channel == "email"


def test_anonymous_reports_are_recorded_as_suppressed_with_a_reason():
    p = plan(public(None), sensitive=False)
    assert p.recipients == ()
    assert p.suppressed[0].reason.startswith("anonymous")


def test_sensitive_reports_are_not_messaged_unless_the_channel_is_safe():
    unsafe = plan(public(Informant(phone="07700900123"), "domestic-abuse"), sensitive=True)
    assert unsafe.recipients == ()
    assert "not confirmed safe" in unsafe.suppressed[0].reason
    safe_person = Informant(phone="07700900123", preferences=ContactPreferences(safe_to_contact=True))
    assert len(plan(public(safe_person, "domestic-abuse"), sensitive=True).recipients) == 1


def test_third_party_reports_tell_the_organisation_and_the_person_only_with_consent():
    def contact(consent: bool) -> ThirdPartyContact:
        return ThirdPartyContact(
            reference=new_reference(), report=DETAILS, organisation_id="org",
            reporter=Informant(email="caseworker@example.org"),
            subject=Informant(phone="07700900456", preferences=ContactPreferences(safe_to_contact=True)),
            subject_consents_to_contact=consent,
        )

    without = plan(contact(False), sensitive=True)
    assert [r.role for r in without.recipients] == ["reporter"]
    assert without.suppressed[0].role == "subject"
    assert [r.role for r in plan(contact(True), sensitive=True).recipients] == ["reporter", "subject"]
