"""Routing decisions against the sample config in config/routing/: where a report is, who gets
it and why. Places used (WGS84):

    Kempston North  52.125, -0.495      Kempston South  52.100, -0.500
    Kempston Rural  52.100, -0.580      Cauldwell       52.120, -0.465
    Kempston South ∩ Kempston Rural parish          52.095, -0.520
    boundary Kempston North | Cauldwell and Elstow  52.120, -0.480
"""

import json
import random
import shutil

import pytest

from schemas import Informant, Location, PublicContact, ReportDetails, ThirdPartyContact
from schemas.events import new_reference
from services.common.config_files import DEFAULT_ROUTING_DIR
from services.router.config import load_routing_config
from services.router.routing import decide, routed_item, watch_items

KEMPSTON_NORTH = (52.125, -0.495)
KEMPSTON_SOUTH = (52.100, -0.500)
KEMPSTON_RURAL = (52.100, -0.580)
CAULDWELL = (52.120, -0.465)
SOUTH_AND_PARISH = (52.095, -0.520)
NORTH_CAULDWELL_EDGE = (52.120, -0.480)
LONDON = (51.50, -0.12)


@pytest.fixture(scope="module")
def config():
    return load_routing_config()


def contact(category: str, *, point=None, postcode="MK42 8AA", text="Something seen", place=None,
            kind="public") -> PublicContact | ThirdPartyContact:
    location = Location(latitude=point[0], longitude=point[1], postcode=None, description=place) if point \
        else Location(postcode=postcode, description=place)
    report = ReportDetails(category=category, description=text, location=location)
    if kind == "third_party":
        return ThirdPartyContact(reference=new_reference(), report=report, organisation_id="stop-hate-beds",
                                 reporter=Informant(email="caseworker@example.org"))
    return PublicContact(reference=new_reference(), report=report, informant=Informant(phone="07700900123"))


def ids(decision) -> list[str]:
    return [d.id for d in decision.destinations]


# --- categories, rules and the fallback --------------------------------------------------


def test_speeding_goes_to_roads_policing_and_the_neighbourhood_team_with_reasons(config):
    decision = decide(contact("speeding"), config)
    assert ids(decision)[:2] == ["roads-policing", "kempston-npt"]
    assert "speeding" in decision.reasons[0] and "Roads policing unit" in decision.reasons[0]
    assert not decision.sensitive


def test_the_headline_reason_says_where_and_who(config):
    decision = decide(contact("speeding", postcode="MK42 8AA"), config)
    assert decision.reasons[0] == (
        "inside Kempston North neighbourhood (postcode sector MK42 8); category speeding → "
        "Roads policing unit, Kempston neighbourhood team, Kempston Speed Watch"
    )
    assert "rule kempston: speeding in Kempston North → Kempston neighbourhood team" in decision.reasons


def test_sensitive_category_goes_only_to_police_and_says_why(config):
    decision = decide(contact("domestic-abuse"), config)
    assert [(d.kind, d.id) for d in decision.destinations] == [("team", "safeguarding-hub")]
    assert decision.sensitive
    assert any("sensitive" in r for r in decision.reasons)


def test_a_category_with_no_rule_goes_to_the_fallback_never_nowhere(config):
    decision = decide(contact("other"), config)
    assert ids(decision) == ["force-contact-centre"]
    assert "fallback" in decision.reasons[0]


def test_a_report_outside_every_area_still_reaches_a_team(config):
    decision = decide(contact("drugs", point=LONDON), config)
    assert ids(decision) == ["force-contact-centre"]
    assert decision.areas == ()
    assert decision.reasons[0].startswith("the point is outside every area")


def test_an_unknown_category_goes_to_the_fallback_and_is_named(config):
    decision = decide(contact("parking", point=KEMPSTON_NORTH), config)
    assert ids(decision) == ["force-contact-centre"]
    assert any("parking is not in categories.yaml" in r for r in decision.reasons)


def test_a_neighbourhood_rule_applies_only_inside_its_areas(config):
    assert ids(decide(contact("drugs", point=KEMPSTON_SOUTH), config)) == ["kempston-npt"]
    assert ids(decide(contact("drugs", point=CAULDWELL), config)) == ["bedford-central-npt"]


def test_a_higher_priority_rule_sets_lower_ones_aside_and_says_so(config):
    # In the rural patch, vehicle crime goes to the rural crime team instead of the NPT.
    decision = decide(contact("vehicle-crime", point=KEMPSTON_RURAL), config)
    assert "kempston-npt" not in ids(decision)
    assert ids(decision)[0] == "rural-crime-team"
    assert any("rule kempston (priority 0) set aside" in r for r in decision.reasons)
    # Outside it the neighbourhood team keeps it.
    assert ids(decide(contact("vehicle-crime", point=KEMPSTON_SOUTH), config))[0] == "kempston-npt"


def test_the_kind_of_contact_selects_rules(config):
    public = decide(contact("hate-incident", point=KEMPSTON_SOUTH), config)
    third_party = decide(contact("hate-incident", point=KEMPSTON_SOUTH, kind="third_party"), config)
    assert ids(public) == ["hate-crime-unit", "kempston-npt"]
    assert ids(third_party) == ["hate-crime-unit"]


@pytest.mark.parametrize(
    ("category", "body"),
    [
        ("fly-tipping", "Bedford Borough Council environmental services"),
        ("noise", "Bedford Borough Council environmental services"),
        ("potholes", "Bedford Borough Council highways"),
        ("abandoned-vehicle", "Bedford Borough Council abandoned vehicles team"),
    ],
)
def test_non_police_matters_are_redirected_with_the_body_and_a_useful_answer(config, category, body):
    decision = decide(contact(category, point=KEMPSTON_NORTH), config)
    (dest,) = decision.destinations
    assert (dest.kind, dest.name) == ("redirect", body)
    assert "not the police" in (dest.public_message or "") or "Bedford Borough Council" in (dest.public_message or "")


def test_fly_tipping_is_redirected_with_a_useful_answer(config):
    decision = decide(contact("fly-tipping"), config)
    (dest,) = decision.destinations
    assert dest.kind == "redirect"
    assert "council" in (dest.public_message or "").lower()


# --- where: points, boundaries, overlaps, postcodes --------------------------------------


def test_a_point_gets_its_neighbourhood_and_every_area_it_is_nested_in(config):
    decision = decide(contact("speeding", point=KEMPSTON_NORTH), config)
    assert decision.areas == ("bedfordshire", "west-sector", "kempston-north")


def test_a_report_inside_overlapping_areas_gets_all_of_them(config):
    decision = decide(contact("burglary-concern", point=SOUTH_AND_PARISH), config)
    assert decision.areas == ("bedfordshire", "west-sector", "kempston-rural-parish", "kempston-south")
    assert "Kempston Rural parish and Kempston South neighbourhood" in decision.reasons[0]


def test_a_point_on_a_shared_boundary_is_inside_both_areas_and_both_teams_get_it(config):
    decision = decide(contact("criminal-damage", point=NORTH_CAULDWELL_EDGE), config)
    assert {"kempston-north", "bedford-cauldwell", "west-sector", "east-sector"} <= set(decision.areas)
    assert ids(decision)[:2] == ["kempston-npt", "bedford-central-npt"]
    assert "on the boundary of" in decision.reasons[0] and "a boundary counts as inside" in decision.reasons[0]


def test_a_point_on_a_sloping_edge_is_inside_despite_rounding(config):
    # Midpoint of Kempston North's edge from (-0.48, 52.14) to (-0.50, 52.145).
    decision = decide(contact("drugs", point=(52.1425, -0.49)), config)
    assert "kempston-north" in decision.areas


def test_a_point_where_three_areas_meet_is_in_all_three(config):
    decision = decide(contact("drugs", point=(52.13, -0.48)), config)
    assert {"kempston-north", "bedford-cauldwell", "bedford-town-centre"} <= set(decision.areas)


def test_boundary_decisions_do_not_depend_on_the_order_of_the_areas_file(config, tmp_path):
    shuffled_dir = tmp_path / "routing"
    shutil.copytree(DEFAULT_ROUTING_DIR, shuffled_dir)
    areas = json.loads((shuffled_dir / "areas.geojson").read_text())
    random.Random(7).shuffle(areas["features"])
    (shuffled_dir / "areas.geojson").write_text(json.dumps(areas))
    shuffled = load_routing_config(shuffled_dir)
    for point in (NORTH_CAULDWELL_EDGE, SOUTH_AND_PARISH, (52.13, -0.48)):
        c = contact("criminal-damage", point=point)
        a, b = decide(c, config), decide(c, shuffled)
        assert (a.areas, a.destinations, a.reasons) == (b.areas, b.destinations, b.reasons)


def test_a_postcode_only_report_is_placed_by_its_sector(config):
    decision = decide(contact("drugs", postcode="MK42 7ZZ"), config)
    assert decision.areas[-1] == "kempston-south"
    assert "(postcode sector MK42 7)" in decision.reasons[0]


def test_a_postcode_sector_can_map_to_several_areas(config):
    decision = decide(contact("criminal-damage", postcode="mk420xy"), config)
    assert {"bedford-cauldwell", "elstow-parish"} <= set(decision.areas)


def test_an_unmapped_sector_falls_back_to_its_district(config):
    decision = decide(contact("drugs", postcode="MK41 9AB"), config)
    assert decision.areas == ("bedfordshire", "east-sector")
    assert "(postcode district MK41)" in decision.reasons[0]
    assert ids(decision) == ["force-contact-centre"]  # no neighbourhood known: fallback


def test_a_point_wins_over_the_postcode(config):
    c = contact("drugs", point=CAULDWELL)
    c = c.model_copy(update={"report": c.report.model_copy(
        update={"location": Location(latitude=CAULDWELL[0], longitude=CAULDWELL[1], postcode="MK42 8AA")})})
    assert decide(c, config).areas[-1] == "bedford-cauldwell"


def test_a_point_outside_every_area_falls_back_to_its_postcode(config):
    c = contact("drugs")
    c = c.model_copy(update={"report": c.report.model_copy(
        update={"location": Location(latitude=LONDON[0], longitude=LONDON[1], postcode="MK42 8AA")})})
    decision = decide(c, config)
    assert decision.areas[-1] == "kempston-north"
    assert decision.reasons[0].startswith("the point is outside every area; inside Kempston North")


def test_a_report_with_only_words_for_a_place_goes_to_the_fallback(config):
    c = PublicContact(reference=new_reference(), report=ReportDetails(
        category="drugs", description="Dealing again", location=Location(description="the park")))
    decision = decide(c, config)
    assert ids(decision) == ["force-contact-centre"]
    assert "the area is not known" in decision.reasons[0]


# --- watches -----------------------------------------------------------------------------


def test_a_watch_gets_reports_of_its_categories_inside_its_areas(config):
    decision = decide(contact("speeding", point=KEMPSTON_NORTH), config)
    assert ids(decision)[-1] == "kempston-speed-watch"
    assert decision.destinations[-1].kind == "watch"
    covers = "watch Kempston Speed Watch covers Kempston North and takes speeding"
    assert any(r.startswith(covers) for r in decision.reasons)
    # Not outside its areas, nor for categories it does not take.
    assert "kempston-speed-watch" not in ids(decide(contact("speeding", point=CAULDWELL), config))
    assert "kempston-speed-watch" not in ids(decide(contact("drugs", point=KEMPSTON_NORTH), config))


def test_several_watches_are_listed_in_id_order(config):
    decision = decide(contact("suspicious-activity", point=KEMPSTON_SOUTH), config)
    assert ids(decision) == ["kempston-npt", "kempston-south-nhw"]
    rural = decide(contact("suspicious-activity", point=KEMPSTON_RURAL), config)
    assert ids(rural) == ["rural-crime-team", "beds-countryside-watch"]


def test_a_watch_only_report_still_has_a_police_owner(config, tmp_path):
    # Take the speeding rules away: the speed watch still takes it, and so does the fallback.
    directory = tmp_path / "routing"
    shutil.copytree(DEFAULT_ROUTING_DIR, directory)
    rules = directory / "rules.yaml"
    speeding_rule = "  speeding:\n    categories: [speeding]\n    to: [roads-policing]\n"
    rules.write_text(rules.read_text().replace(speeding_rule, "")
                     .replace("categories: [anti-social-behaviour, speeding,", "categories: [anti-social-behaviour,"))
    decision = decide(contact("speeding", point=KEMPSTON_NORTH), load_routing_config(directory))
    assert ids(decision) == ["force-contact-centre", "kempston-speed-watch"]
    assert "fallback Force contact centre; also Kempston Speed Watch" in decision.reasons[0]


def test_a_sensitive_report_never_reaches_a_watch_even_if_one_claims_the_category(config):
    # The config loader refuses this; the router guards as well.
    watch = config.watches.watches["kempston-south-nhw"]
    tampered = config.watches.model_copy(update={"watches": {
        **config.watches.watches,
        "kempston-south-nhw": watch.model_copy(update={"categories": (*watch.categories, "domestic-abuse")}),
    }})
    index = config.index.watches | {("domestic-abuse", "kempston-south"): ("kempston-south-nhw",)}
    from dataclasses import replace
    bad = replace(config, watches=tampered, index=replace(config.index, watches=index))
    decision = decide(contact("domestic-abuse", point=KEMPSTON_SOUTH), bad)
    assert all(d.kind != "watch" for d in decision.destinations)
    assert any("not shared with Kempston South Neighbourhood Watch: sensitive" in r for r in decision.reasons)
    assert watch_items(routed_item(contact("domestic-abuse", point=KEMPSTON_SOUTH), bad), bad) == ()


# --- sensitive by its words ---------------------------------------------------------------


def test_domestic_abuse_described_under_anti_social_behaviour_is_sensitive_and_reaches_the_hub(config):
    text = "Shouting next door every night, he hits her and she had a black eye"
    item = routed_item(contact("anti-social-behaviour", point=CAULDWELL, text=text), config)
    assert item.sensitive and item.sensitive_reason == "content"
    assert [d.id for d in item.destinations] == ["bedford-central-npt", "safeguarding-hub"]
    assert any("suggests domestic-abuse ('hits her', 'black eye') → treated as sensitive" in r for r in item.reasons)
    assert any("not shared with Cauldwell Street Watch: a report whose words suggest" in r for r in item.reasons)
    assert watch_items(item, config) == ()


def test_a_sensitive_category_records_its_reason(config):
    item = routed_item(contact("domestic-abuse", point=CAULDWELL), config)
    assert item.sensitive and item.sensitive_reason == "category"


def test_an_ordinary_report_is_not_sensitive_and_still_reaches_its_watch(config):
    item = routed_item(contact("anti-social-behaviour", point=CAULDWELL, text="Hitting a ball at the wall"), config)
    assert not item.sensitive and item.sensitive_reason is None
    assert [w.watch_id for w in watch_items(item, config)] == ["cauldwell-street-watch"]


@pytest.mark.parametrize("text", ["He HITS-HER when he's drunk", "racist graffiti on the wall",
                                  "I think it's county lines", "she\u2019s scared of him."])
def test_sensitive_phrases_match_in_any_case_and_across_punctuation(config, text):
    assert routed_item(contact("criminal-damage", point=CAULDWELL, text=text), config).sensitive


# --- danger now --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "A man with a KNIFE is outside the shop",
    "They are fighting, it is happening now",
    "He threatened to kill my neighbour",
    "someone has a gun in the car park",
])
def test_danger_now_is_flagged_for_the_control_room_and_the_informant_told_to_call_999(config, text):
    item = routed_item(contact("suspicious-activity", point=KEMPSTON_SOUTH, text=text), config)
    assert item.flags == ("danger",)
    assert item.destinations[0].id == "force-control-room"
    assert "kempston-npt" in [d.id for d in item.destinations]  # the owning team still has it
    assert any("suggests danger now" in r for r in item.reasons)
    assert item.informant_notice is not None and "999" in item.informant_notice


def test_a_danger_report_is_kept_from_watches(config):
    item = routed_item(contact("suspicious-activity", point=KEMPSTON_SOUTH, text="He had a machete"), config)
    assert all(d.kind != "watch" for d in item.destinations)
    assert watch_items(item, config) == ()
    assert any("stays with the police" in r for r in item.reasons)


@pytest.mark.parametrize("text", ["Cars racing every night after 10pm", "Kids knifed a tyre? no, just a puncture",
                                  "Cars gunning it down the road", "He is a knifeman? No: a locksmith"])
def test_ordinary_words_are_not_danger(config, text):
    # whole words only: "knifed", "gunning", "knifeman" are not the phrases themselves
    assert routed_item(contact("speeding", point=KEMPSTON_NORTH, text=text), config).flags == ()


# --- the routed item ---------------------------------------------------------------------


def test_routing_the_same_contact_twice_gives_the_same_event(config):
    c = contact("drugs")
    assert routed_item(c, config).event_id == routed_item(c, config).event_id
    assert routed_item(c, config).rules_version == config.version


def test_the_routed_item_carries_areas_with_names_and_types(config):
    item = routed_item(contact("speeding", point=KEMPSTON_NORTH), config)
    assert [(a.id, a.name, a.type) for a in item.areas] == [
        ("bedfordshire", "Bedfordshire", "force"),
        ("west-sector", "Bedford West", "sector"),
        ("kempston-north", "Kempston North", "neighbourhood"),
    ]


def test_each_watch_gets_its_own_redacted_item_with_its_delivery_and_coordinators(config):
    c = contact("suspicious-activity", point=KEMPSTON_SOUTH,
                text="Mr Peters from number 4 tried car doors, call me on 07700 900456",
                place="12 Bunyan Road, Kempston")
    item = routed_item(c, config)
    (watch_item,) = watch_items(item, config)
    assert (watch_item.watch_id, watch_item.watch_name) == ("kempston-south-nhw", "Kempston South Neighbourhood Watch")
    assert watch_item.delivery == "daily_digest"
    assert watch_item.coordinator_ids == ("coord-kempston-south-1", "coord-kempston-south-2")
    assert watch_item.description == "[name] from [house number] tried car doors, call me on [phone]"
    assert watch_item.location.model_dump() == {"street": "Bunyan Road", "postcode_sector": None,
                                                "area": "Kempston South"}
    assert {"informant", "point", "place_description", "name", "phone", "house_number"} <= set(watch_item.redactions)
    dumped = watch_item.model_dump_json()
    assert "07700" not in dumped and "Peters" not in dumped and "12 Bunyan" not in dumped
    assert str(KEMPSTON_SOUTH[0]) not in dumped
    assert watch_item.event_id == watch_items(item, config)[0].event_id  # stable under redelivery
