"""Properties that hold for every report, whatever its category, place, kind and words:

- no report is ever routed nowhere: it always reaches a police team or a partner;
- a sensitive report never reaches a watch, even under a config that (wrongly) tells every
  watch to take every category everywhere;
- what a watch receives never holds the informant's phone, email or name.
"""

import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Informant, Location, PublicContact, ReportDetails, ThirdPartyContact
from schemas.events import new_reference
from services.router.config import RoutingConfig, _index, load_routing_config
from services.router.routing import decide, routed_item, watch_items

CONFIG = load_routing_config()
CATEGORIES = sorted(CONFIG.categories.categories)
SENSITIVE = [c for c in CATEGORIES if CONFIG.categories.is_sensitive(c)]


def everything_everywhere(config: RoutingConfig) -> RoutingConfig:
    """Every watch takes every category across the whole force: what validation refuses."""
    watches = config.watches.model_copy(update={"watches": {
        wid: w.model_copy(update={"categories": tuple(CATEGORIES), "areas": ("bedfordshire",)})
        for wid, w in config.watches.watches.items()
    }})
    return replace(config, watches=watches, index=_index(config.rules, watches))


RECKLESS = everything_everywhere(CONFIG)

FIRST = ["Sam", "Priya", "Tomasz", "Aisha", "Gareth", "Chloe", "Zbigniew", "Olu"]
LAST = ["Okafor", "Nowak", "Brennan", "Haldane", "Quayle", "Oyelaran", "Szymanska"]
FILLER = ["cars racing", "every night", "near the shops", "on Bedford Road", "by the garages", "again",
          "he has a knife", "it is happening now", "youths shouting", "van with no plates", "at 10pm",
          "my neighbour saw it", "outside number 12", "Kempston", "a silver car", "nothing urgent"]

points = st.tuples(st.floats(51.90, 52.35), st.floats(-0.80, -0.20))
far_points = st.tuples(st.floats(49.9, 60.8), st.floats(-8.6, 1.7))
postcodes = st.one_of(
    st.sampled_from(["MK42 8AA", "MK42 7QD", "MK43 9XY", "MK40 1AB", "MK42 0EF", "MK41 9ZZ", "MK44 1AA",
                     "LU1 1AA", "SW1A 1AA", "mk428aa"]),
    st.from_regex(r"\A[A-Z]{1,2}[0-9]{1,2} [0-9][A-Z]{2}\Z"),
)


@st.composite
def locations(draw) -> Location:
    choice = draw(st.sampled_from(["point", "far", "postcode", "both", "words"]))
    if choice in {"point", "far", "both"}:
        lat, lon = draw(points if choice != "far" else far_points)
        return Location(latitude=lat, longitude=lon, postcode=draw(postcodes) if choice == "both" else None)
    if choice == "postcode":
        return Location(postcode=draw(postcodes))
    return Location(description="by the old church")


@st.composite
def contacts(draw, categories=(*CATEGORIES, "parking", "zz-unknown")):
    name = f"{draw(st.sampled_from(FIRST))} {draw(st.sampled_from(LAST))}"
    phone = f"07700 900{draw(st.integers(100, 999))}"
    email = f"{name.split()[0].lower()}.{draw(st.integers(1, 99))}@example.org"
    words = draw(st.lists(st.sampled_from(FILLER), min_size=1, max_size=6))
    if draw(st.booleans()):
        words.append(f"call {name} on {phone} or {email}")
    if draw(st.booleans()):
        words.append(draw(st.text(min_size=1, max_size=40)))
    description = ", ".join(words).strip() or "x"
    category = draw(st.sampled_from(categories))
    report = ReportDetails(category=category, description=description, location=draw(locations()))
    person = Informant(name=name, phone=phone, email=email)
    if draw(st.booleans()):
        return PublicContact(reference=new_reference(), report=report,
                             informant=person if draw(st.booleans()) else None)
    return ThirdPartyContact(reference=new_reference(), report=report, organisation_id="org",
                             reporter=Informant(email="caseworker@example.org"), subject=person)


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(contacts())
def test_no_report_is_ever_routed_nowhere(contact):
    for config in (CONFIG, RECKLESS):
        decision = decide(contact, config)
        assert decision.destinations
        assert any(d.kind in {"team", "redirect"} for d in decision.destinations)
        assert decision.reasons


@PROPERTY
@given(contacts(categories=SENSITIVE))
def test_no_sensitive_report_ever_reaches_a_watch(contact):
    for config in (CONFIG, RECKLESS):
        item = routed_item(contact, config)
        assert item.sensitive
        assert all(d.kind == "team" for d in item.destinations)
        assert watch_items(item, config) == ()


#: A watch item's fields that the pipeline makes from the clock or at random, never from a report.
MACHINE_MADE = {"event_id", "emitted_at", "received_at", "reference"}


@PROPERTY
@given(contacts())
def test_a_watch_never_receives_the_informants_contact_details_or_name(contact):
    person = contact.informant if isinstance(contact, PublicContact) else contact.subject
    item = routed_item(contact, RECKLESS)
    for watch_item in watch_items(item, RECKLESS):
        # Searched without the fields made from the clock and random ids, which hold no one's words
        # and can hold any digits ("51.9" in a time of 02:53:51.97).
        fields = watch_item.model_dump(mode="json", exclude=MACHINE_MADE)
        text = json.dumps(fields, ensure_ascii=False).lower()  # names as written, not escaped
        if person is not None:
            assert person.phone is not None and person.email is not None and person.name is not None
            assert person.phone[-6:] not in text.replace(" ", "")
            assert person.email.lower() not in text
            for word in person.name.lower().split():
                assert word not in text
        assert "caseworker@example.org" not in text
        location = contact.report.location
        if location.latitude is not None:
            assert repr(location.latitude) not in text


def test_the_reckless_config_really_would_send_sensitive_reports_to_watches_without_the_guard():
    # Guards the property above against passing vacuously.
    assert any(w for (category, _area), w in RECKLESS.index.watches.items() if category in SENSITIVE)


@pytest.mark.parametrize("category", SENSITIVE)
def test_every_sensitive_category_is_configured_for_police_only(category):
    assert all(category not in w.categories for w in CONFIG.watches.watches.values())
