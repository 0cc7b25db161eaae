"""Promises 4 and 5: sensitive reports (by category or by their words) never reach a watch and
are never messaged on a channel the informant did not confirm safe."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from schemas import CaseUpdate, ContactPreferences, Informant, Location, PublicContact, ReportDetails, ThirdPartyContact
from schemas import MessageStatus as S
from schemas.events import new_reference
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import routed_item, watch_items
from tests.fakes.store import record_routing
from tests.unit.feedback_world import PHONE, World

#: Inside Cauldwell, where Cauldwell Street Watch takes anti-social behaviour and criminal damage.
CAULDWELL = Location(latitude=52.120, longitude=-0.465)

#: Sensitive matters described under a category a watch takes.
DISGUISED = [
    ("anti-social-behaviour", "Shouting next door every night, he hits her and she had a black eye", "domestic-abuse"),
    ("anti-social-behaviour", "Her ex-partner keeps turning up drunk and she is scared of him", "domestic-abuse"),
    ("anti-social-behaviour", "The couple at no 4 again, sounds like domestic violence", "domestic-abuse"),
    ("anti-social-behaviour", "Lads shouting racist abuse at the shopkeeper", "hate-incident"),
    ("criminal-damage", "Homophobic graffiti sprayed on their door", "hate-incident"),
    ("anti-social-behaviour", "Older men giving the girls from the school vapes, looks like grooming", "safeguarding"),
    ("anti-social-behaviour", "Different young lads coming and going, we think the flat has been cuckooed",
     "safeguarding"),
]


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_routing_config()


def public(category: str, text: str, informant: Informant | None = None) -> PublicContact:
    return PublicContact(reference=new_reference(),
                         report=ReportDetails(category=category, description=text, location=CAULDWELL),
                         informant=informant or Informant(phone=PHONE))


@pytest.mark.parametrize(("category", "text", "matter"), DISGUISED)
def test_a_sensitive_matter_under_another_category_never_makes_a_watch_item(config, category, text, matter):
    item = routed_item(public(category, text), config)
    assert item.sensitive and item.sensitive_reason == "content"
    assert all(d.kind != "watch" for d in item.destinations)
    assert watch_items(item, config) == ()
    # the team that takes the sensitive matter has it, and the reasons say why
    teams = {d.id for d in item.destinations}
    assert any(set(rule.to) <= teams for rule in config.rules.rules.values() if matter in rule.categories)
    assert any(f"suggests {matter}" in r for r in item.reasons)


def test_the_same_words_from_an_organisation_are_sensitive_too(config):
    contact = ThirdPartyContact(reference=new_reference(), organisation_id="stop-hate-beds",
                                report=ReportDetails(category="anti-social-behaviour", location=CAULDWELL,
                                                     description="Neighbour says he beats her most weekends"),
                                reporter=Informant(email="caseworker@example.org"))
    item = routed_item(contact, config)
    assert item.sensitive and watch_items(item, config) == ()


@pytest.mark.parametrize("category", ["domestic-abuse", "hate-incident", "safeguarding"])
def test_a_sensitive_category_never_makes_a_watch_item_even_if_a_watch_claims_it(config, category):
    # The loader refuses a watch that takes a sensitive category; tamper past it to be sure the
    # router refuses as well.
    watch = config.watches.watches["cauldwell-street-watch"]
    watches = config.watches.model_copy(update={"watches": {
        **config.watches.watches,
        "cauldwell-street-watch": watch.model_copy(update={"categories": (*watch.categories, category)}),
    }})
    index = config.index.watches | {(category, "bedford-cauldwell"): ("cauldwell-street-watch",)}
    tampered = replace(config, watches=watches, index=replace(config.index, watches=index))
    item = routed_item(public(category, "Something is going on"), tampered)
    assert item.sensitive and item.sensitive_reason == "category"
    assert all(d.kind != "watch" for d in item.destinations)
    assert watch_items(item, tampered) == ()


def test_a_routed_item_marked_sensitive_makes_no_watch_item_whatever_its_destinations(config):
    ordinary = routed_item(public("anti-social-behaviour", "Kids kicking a ball at the garages"), config)
    assert [w.watch_id for w in watch_items(ordinary, config)] == ["cauldwell-street-watch"]
    assert watch_items(ordinary.model_copy(update={"sensitive": True}), config) == ()


def test_an_old_routed_event_without_the_reason_still_reads(config):
    item = routed_item(public("domestic-abuse", "x"), config)
    raw = item.model_dump(mode="json")
    del raw["sensitive_reason"]
    assert type(item).model_validate(raw).sensitive_reason is None


# --- messaging -------------------------------------------------------------------------------


def _routed(world: World, config: RoutingConfig, text: str, informant: Informant):
    contact = public("anti-social-behaviour", text, informant).model_copy(
        update={"received_at": world.now, "emitted_at": world.now})
    item = routed_item(contact, config)
    with world.sessions() as s:
        record_routing(s, item)
    return item


def test_words_that_make_a_report_sensitive_stop_the_acknowledgement_without_a_safe_channel(tmp_path, config):
    world = World(tmp_path)
    item = _routed(world, config, "He hits her every weekend, you can hear it", Informant(phone=PHONE))
    world.acknowledge(item)
    assert world.sms.sent == [] and world.email.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == S.SUPPRESSED and "not confirmed safe" in (message.detail or "")


def test_a_report_sensitive_by_its_words_is_acknowledged_when_the_informant_said_the_channel_is_safe(
        tmp_path, config):
    world = World(tmp_path)
    safe = Informant(phone=PHONE, preferences=ContactPreferences(safe_to_contact=True))
    item = _routed(world, config, "He hits her every weekend, you can hear it", safe)
    world.acknowledge(item)
    assert [m.to for m in world.sms.sent] == [PHONE]


def test_an_ordinary_report_is_acknowledged_as_before(tmp_path, config):
    world = World(tmp_path)
    item = _routed(world, config, "Motorbikes on the footpath again", Informant(phone=PHONE))
    world.acknowledge(item)
    assert [m.to for m in world.sms.sent] == [PHONE]


def test_a_case_update_on_a_report_sensitive_by_its_words_is_not_sent_on_an_unconfirmed_channel(tmp_path, config):
    world = World(tmp_path)
    item = _routed(world, config, "He hits her every weekend, you can hear it", Informant(phone=PHONE))
    update = CaseUpdate(reference=item.reference, actor_id="safeguarding-hub", actor_name="Safeguarding hub",
                        public_text="We visited", emitted_at=world.now)
    world.run(world.handlers.on_case_update(update))
    assert world.sms.sent == []
    assert {m.status for m in world.messages(item.reference)} == {S.SUPPRESSED}


def test_a_closure_survey_and_a_holding_update_on_a_report_sensitive_by_its_words_are_not_sent_either(
        tmp_path, config):
    world = World(tmp_path)
    item = _routed(world, config, "He hits her every weekend, you can hear it", Informant(phone=PHONE))
    closure = CaseUpdate(reference=item.reference, actor_id="safeguarding-hub", actor_name="Safeguarding hub",
                         kind="closure", outcome="action_taken", public_text="We spoke to both of them",
                         emitted_at=world.now)
    world.run(world.handlers.on_case_update(closure))
    world.tick(timedelta(days=40))  # past the survey delay and any holding-update silence
    world.run(world.timers.send_holding_updates())
    assert world.sms.sent == [] and world.email.sent == []
    assert {m.status for m in world.messages(item.reference)} == {S.SUPPRESSED}
