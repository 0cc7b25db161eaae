"""Promise 8: a message about a sensitive report reads as nothing in particular to someone
else who sees it: it names neither the category nor the team (whose name can say it), and it
carries no link to the report unless the person asked for one."""

from __future__ import annotations

import pytest

from schemas import CaseUpdate, ContactPreferences, Informant
from services.feedback.handlers import Handlers
from services.router.config import RoutingConfig, load_routing_config
from tests.safety.test_sensitive_reports import _routed
from tests.unit.feedback_world import PHONE, World

TRACK = "https://report.example/track/"
REVEALING = ("domestic", "abuse", "hate", "safeguarding", "Safeguarding hub", "Hate crime unit")


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_routing_config()


def world_with_track_links(tmp_path) -> World:
    world = World(tmp_path)
    world.handlers = Handlers(delivery=world.delivery, categories=world.handlers._categories,
                              track_url=lambda reference: f"{TRACK}{reference}")
    return world


def safe(track_link: bool | None = None) -> Informant:
    return Informant(phone=PHONE, preferences=ContactPreferences(safe_to_contact=True, track_link=track_link))


def text_of(world: World) -> str:
    return " ".join(m.body for m in world.sms.sent)


@pytest.mark.parametrize("category", ["domestic-abuse", "hate-incident", "safeguarding"])
def test_the_acknowledgement_of_a_sensitive_category_names_nothing_and_links_nowhere(tmp_path, category):
    world = world_with_track_links(tmp_path)
    world.acknowledge(world.routed(category, safe()))
    body = text_of(world)
    assert body and "999" in body
    assert not [word for word in REVEALING if word.lower() in body.lower()], body
    assert TRACK not in body


def test_a_report_sensitive_by_its_words_is_acknowledged_without_the_team_or_a_link(tmp_path, config):
    world = world_with_track_links(tmp_path)
    world.acknowledge(_routed(world, config, "He hits her every weekend, you can hear it", safe()))
    body = text_of(world)
    assert body and "Safeguarding hub" not in body and TRACK not in body


def test_the_link_is_there_when_the_person_asked_for_it(tmp_path):
    world = world_with_track_links(tmp_path)
    world.acknowledge(world.routed("domestic-abuse", safe(track_link=True)))
    assert TRACK in text_of(world) and "domestic" not in text_of(world).lower()


def test_an_update_on_a_sensitive_report_does_not_name_the_team(tmp_path):
    world = world_with_track_links(tmp_path)
    item = world.routed("hate-incident", safe())
    world.run(world.handlers.on_case_update(CaseUpdate(
        reference=item.reference, actor_id="hate-crime-unit", actor_name="Hate crime unit",
        public_text="An officer will call you this week.", emitted_at=world.now)))
    (sent,) = world.sms.sent
    assert "Hate crime unit" not in sent.body and "An officer will call you" in sent.body


def test_an_ordinary_report_still_says_what_it_is_about_with_its_link(tmp_path):
    world = world_with_track_links(tmp_path)
    world.acknowledge(world.routed("speeding", Informant(phone=PHONE)))
    assert "speeding" in text_of(world).lower() and TRACK in text_of(world)
