import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from schemas import (
    TOPICS,
    CaseUpdate,
    Informant,
    Location,
    Outcome,
    PublicContact,
    ReportDetails,
    RoutedItem,
    UpdateKind,
    model_for,
)
from schemas.events import CONTACT, REFERENCE_PATTERN, new_reference, reference_from_key
from schemas.export import export


def report(**overrides):
    fields = {"category": "speeding", "description": "Cars racing", "location": Location(postcode="MK42 8AA")}
    return ReportDetails(**(fields | overrides))


def test_uk_phone_numbers_are_normalised_to_e164():
    assert Informant(phone="07700 900123").phone == "+447700900123"
    assert Informant(phone="+44 (0)20 7946 0000").phone == "+442079460000"


@pytest.mark.parametrize("bad", ["123", "not a number", "+1 555", "0770090012345678"])
def test_bad_phone_numbers_are_rejected_naming_the_field(bad):
    with pytest.raises(ValidationError) as exc:
        Informant(phone=bad)
    assert exc.value.errors()[0]["loc"] == ("phone",)


def test_bad_email_is_rejected():
    with pytest.raises(ValidationError) as exc:
        Informant(email="not-an-email")
    assert exc.value.errors()[0]["loc"] == ("email",)


def test_chosen_channel_needs_its_address():
    with pytest.raises(ValidationError, match="phone is required"):
        Informant(email="a@example.org", preferences={"channel": "sms"})


def test_channel_defaults_to_the_address_given_so_feedback_is_on_by_default():
    assert Informant(phone="07700900123").channel_to_use() == "sms"
    assert Informant(email="a@example.org").channel_to_use() == "email"
    assert Informant(name="Sam").channel_to_use() is None


def test_location_needs_a_place_and_both_coordinates():
    with pytest.raises(ValidationError, match="give a point, a postcode or a description"):
        Location()
    with pytest.raises(ValidationError, match="go together"):
        Location(latitude=52.1)
    with pytest.raises(ValidationError):
        Location(latitude=40.0, longitude=-3.0)  # outside the UK


def test_report_cannot_happen_in_the_future():
    with pytest.raises(ValidationError, match="future"):
        report(happened_at=datetime.now(UTC) + timedelta(days=1))


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as exc:
        ReportDetails.model_validate({**report().model_dump(), "priority": "urgent"})
    assert exc.value.errors()[0]["loc"] == ("priority",)


def test_closure_must_say_its_outcome_and_why_nothing_was_done():
    base = {"reference": new_reference(), "actor_id": "t", "actor_name": "Team", "public_text": "Done"}
    with pytest.raises(ValidationError, match="needs an outcome"):
        CaseUpdate(**base, kind=UpdateKind.CLOSURE)
    with pytest.raises(ValidationError, match="needs a reason"):
        CaseUpdate(**base, kind=UpdateKind.CLOSURE, outcome=Outcome.NO_FURTHER_ACTION)
    ok = CaseUpdate(**base, kind=UpdateKind.CLOSURE, outcome=Outcome.NO_FURTHER_ACTION,
                    outcome_reason="The vehicle could not be identified")
    assert ok.outcome_reason


def test_references_are_readable_and_idempotency_keys_give_stable_ones():
    refs = {new_reference() for _ in range(200)}
    assert len(refs) == 200
    assert all(re.match(REFERENCE_PATTERN, r) for r in refs)
    assert reference_from_key("abc") == reference_from_key("abc") != reference_from_key("abd")


def test_unknown_schema_version_is_refused():
    contact = PublicContact(reference=new_reference(), report=report())
    data = json.loads(contact.model_dump_json())
    data["schema_version"] = 2
    with pytest.raises(ValidationError) as exc:
        CONTACT.validate_json(json.dumps(data))
    assert "schema_version" in exc.value.errors()[0]["loc"]


def test_events_round_trip_through_json():
    contact = PublicContact(reference=new_reference(), report=report(), informant=Informant(phone="07700900123"))
    item = RoutedItem(reference=contact.reference, contact=contact,
                      destinations=[{"kind": "team", "id": "t", "name": "Team"}], event_id=uuid.uuid4())
    again = RoutedItem.model_validate_json(item.model_dump_json())
    assert again == item
    assert CONTACT.validate_json(contact.model_dump_json()) == contact


def test_every_topic_has_a_model_and_exports_a_json_schema(tmp_path):
    assert model_for("contacts.public") is PublicContact
    paths = export(tmp_path)
    assert len(paths) == len(TOPICS)
    schema = json.loads((tmp_path / "reports.routed.schema.json").read_text())
    assert schema["x-topic"] == "reports.routed"
    assert "destinations" in schema["properties"]
