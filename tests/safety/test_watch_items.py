"""Promises 1 and 2: a watch item never carries who reported, their contact details, or the
exact place, even when the informant typed them into the report themselves."""

from __future__ import annotations

import pytest

from schemas import Informant, Location, PublicContact, ReportDetails, ThirdPartyContact, WatchItem
from schemas.events import new_reference
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import cluster_label_for, decide, routed_item, watch_items

#: Inside Cauldwell (Cauldwell Street Watch takes anti-social behaviour), with digits that
#: would be recognisable anywhere they leaked.
POINT = (52.12034, -0.46517)


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_routing_config()


def only_item(contact: PublicContact | ThirdPartyContact, config: RoutingConfig) -> WatchItem:
    item = routed_item(contact, config)
    assert not item.sensitive
    (watch,) = watch_items(item, config)
    return watch


def public(text: str, informant: Informant, place: str | None = None,
           postcode: str | None = "MK42 9QR") -> PublicContact:
    location = Location(latitude=POINT[0], longitude=POINT[1], postcode=postcode, description=place)
    return PublicContact(reference=new_reference(), informant=informant,
                         report=ReportDetails(category="anti-social-behaviour", description=text, location=location))


#: The informant gives their details on the form and repeats them, their own way, in the text.
SELF_IDENTIFYING = [
    ("Jo Bloggs", "+447700900777", "jo.bloggs@example.org",
     "Youths on the garages again. I'm Jo Bloggs, ring me on 07700 900777 or jo.bloggs@example.org"),
    ("Priya Sharma", "+447700900888", "priya@example.org",
     "Bikes on the footpath every night. PRIYA SHARMA, 447700900888, priya at example dot org"),
    ("José García", "+447700900999", None,
     "Kids throwing stones at cars. Reported by José García (7700900999), thanks"),
    ("Femi Okoro", None, "femi.okoro@example.org",
     "Drinking and shouting in the park, my profile is facebook.com/femi.okoro if you need me. Femi"),
]


@pytest.mark.parametrize(("name", "phone", "email", "text"), SELF_IDENTIFYING)
def test_a_watch_item_never_carries_the_informants_identity_or_contact_details(config, name, phone, email, text):
    contact = public(text, Informant(name=name, phone=phone, email=email),
                     place="outside 14 Cauldwell Street, by the blue door")
    shown = only_item(contact, config).model_dump_json()
    personal = [*name.split(), *(name.upper().split())]
    if phone:
        personal += [phone, phone[-6:], phone[3:]]
    if email:
        personal += [email, email.split("@")[0]]
    assert not [p for p in personal if p.lower() in shown.lower()]
    assert "informant" in only_item(contact, config).redactions


def test_a_watch_item_never_carries_the_exact_place(config):
    contact = public("Cars doing donuts outside 14 Cauldwell Street, MK42 9QR, at Rose Cottage", Informant(
        phone="+447700900123"), place="14 Cauldwell Street, the house with the blue door", postcode="MK42 9QR")
    watch = only_item(contact, config)
    shown = watch.model_dump_json()
    for exact in ("52.12034", "0.46517", "52.12", "9QR", "14 Cauldwell", "blue door", "Rose Cottage"):
        assert exact not in shown, exact
    assert watch.location.model_dump() == {"street": "Cauldwell Street", "postcode_sector": "MK42 9",
                                           "area": "Cauldwell and Elstow"}
    assert {"point", "postcode", "place_description"} <= set(watch.redactions)


def test_a_watch_item_from_an_organisation_carries_neither_the_case_worker_nor_the_person(config):
    contact = ThirdPartyContact(
        reference=new_reference(), organisation_id="victim-support-beds",
        reporter=Informant(name="Sam Worker", email="sam.worker@charity.example.org"),
        subject=Informant(name="Agnieszka Kowalczyk", phone="+447700900456"),
        report=ReportDetails(category="anti-social-behaviour", location=Location(latitude=POINT[0], longitude=POINT[1]),
                             description="Agnieszka Kowalczyk says lads gather at the garages; Sam Worker can call "
                                         "her on 07700 900456"),
    )
    shown = only_item(contact, config).model_dump_json()
    for personal in ("Agnieszka", "Kowalczyk", "Sam", "Worker", "900456", "charity.example.org"):
        assert personal not in shown, personal


def test_a_cluster_is_labelled_by_street_never_by_a_person_or_a_house(config):
    contact = public("Youths again", Informant(name="Dave Smith", phone="+447700900123"),
                     place="outside 3 Dave Smith Close")
    label = cluster_label_for(contact, decide(contact, config), config)
    assert "Smith" not in label and "3" not in label
    contact = public("Youths again", Informant(phone="+447700900123"), place="outside 3 Cauldwell Street")
    assert cluster_label_for(contact, decide(contact, config), config) == "Cauldwell Street"
