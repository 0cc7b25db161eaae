"""What a watch coordinator sees of a report: contact details, registrations, house numbers
and names scrubbed, the place coarsened; streets and place names kept."""

import pytest

from schemas import Location
from services.common.redaction import FIRST_NAMES, scrub, street_of, watch_view

PLACES = ["Kempston", "Bedford", "Elstow", "Cauldwell"]


def clean(text: str, names=()) -> str:
    return scrub(text, known_names=names, keep_words=PLACES).text


@pytest.mark.parametrize(("text", "expected"), [
    ("call me on 07700 900123", "call me on [phone]"),
    ("call me on 07700900123.", "call me on [phone]."),
    ("ring +44 7700 900123 or +44 (0)20 7946 0000", "ring [phone] or [phone]"),
    ("landline 01234-567890", "landline [phone]"),
    ("email jo.bloggs+police@example.co.uk please", "email [email] please"),
    ("he posts as @kempston_king on there", "he posts as [handle] on there"),
])
def test_contact_details_are_scrubbed(text, expected):
    assert clean(text) == expected


def test_times_speeds_and_dates_are_not_mistaken_for_phone_numbers():
    text = "Doing 50 in a 30 at 22:15 on 12/03/2025, about 3 cars"
    assert clean(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("silver Ford AB12 CDE speeding", "silver Ford [vehicle registration] speeding"),
    ("reg ab12cde again", "reg [vehicle registration] again"),
    ("an old A123 BCD and a YBC 123D", "an old [vehicle registration] and a [vehicle registration]"),
])
def test_vehicle_registrations_are_scrubbed(text, expected):
    assert clean(text) == expected


def test_the_place_is_coarsened_in_the_text():
    assert clean("outside 14 Bedford Road, MK42 8AA") == "outside Bedford Road, MK42 8"
    assert clean("at number 7 and flat 2b") == "at [house number] and [house number]"
    assert clean("the bus at 3pm on the A6 3am") == "the bus at 3pm on the A6 3am"


@pytest.mark.parametrize(("text", "expected"), [
    ("Mr Smith keeps parking there", "[name] keeps parking there"),
    ("Mrs J. Patel-Jones saw it", "[name] saw it"),
    ("Dr O'Brien and PC McDonald", "[name] and [name]"),
    ("my neighbour Dave keeps revving", "my neighbour [name] keeps revving"),
    ("her ex, Tom Harris, comes round", "her ex, [name], comes round"),
    ("my next door neighbour Kowalski shouts", "my next door neighbour [name] shouts"),
    ("a lad called Kyle Smith and one known as Deano", "a lad called [name] and one known as [name]"),
    ("I'm Priya and I live here", "I'm [name] and I live here"),
    ("Cars every night.\nThanks, Gareth Evans", "Cars every night.\nThanks, [name]"),
    ("Sophie and Liam Walsh were there", "[name] and [name] were there"),
])
def test_names_are_scrubbed_where_there_is_a_cue(text, expected):
    assert clean(text) == expected


def test_the_informants_own_name_is_scrubbed_wherever_it_appears():
    assert clean("This is Zbigniew. zbigniew here again, Wozniak family", names=["Zbigniew Wozniak"]) == \
        "This is [name]. [name] here again, [name] family"


def test_streets_and_places_are_kept_even_when_they_look_like_names():
    text = "Racing from Victoria Road to George Street via Kempston and Elstow"
    assert clean(text) == text
    assert clean("I'm on Bedford Road") == "I'm on Bedford Road"
    assert clean("It's Kempston again") == "It's Kempston again"


def test_ordinary_words_after_cues_are_left_alone():
    assert clean("I'm Worried and I'm Not sure, my son Is scared") == "I'm Worried and I'm Not sure, my son Is scared"


def test_the_first_name_list_leaves_out_everyday_words():
    assert not {"Will", "Mark", "May", "Rose", "Bill", "Hope", "Grace"} & FIRST_NAMES


def test_what_it_cannot_do_is_honest():
    # No cue and not a common first name: it stays. So does a description that identifies.
    assert clean("Wozniak was shouting again") == "Wozniak was shouting again"
    assert clean("the man at the end house with the red van") == "the man at the end house with the red van"


def test_scrub_reports_what_it_removed():
    result = scrub("Mr Smith, 07700 900123, a@b.org, AB12 CDE, number 4")
    assert result.removed == {"name": 1, "phone": 1, "email": 1, "vehicle_registration": 1, "house_number": 1}


def test_street_of_finds_the_street_without_house_number_or_lead_in():
    assert street_of("outside 12 Bedford Road, Kempston") == "Bedford Road"
    assert street_of("On High Street by the shops") == "High Street"
    assert street_of("the park behind the school") is None


def test_a_watch_view_has_no_point_postcode_or_informants_words_for_the_place():
    view = watch_view(
        "Cars racing every night",
        Location(latitude=52.125, longitude=-0.495, postcode="MK42 8AA",
                 description="outside 12 Bedford Road, by Sam Okafor's house"),
        area_name="Kempston North",
        known_names=["Sam Okafor"],
    )
    assert view.location.model_dump() == {"street": "Bedford Road", "postcode_sector": "MK42 8",
                                          "area": "Kempston North"}
    assert view.redactions == ("informant", "place_description", "point", "postcode")
    assert "Okafor" not in repr(view) and "52.125" not in repr(view) and "8AA" not in repr(view)


def test_a_street_that_carries_a_name_is_not_shown():
    view = watch_view("x", Location(description="Dave Smith Road"), area_name=None, known_names=["Dave Smith"])
    assert view.location.street is None


def test_a_street_that_looks_like_a_titled_name_is_not_shown():
    view = watch_view("Cars outside Mr Smith Close every night", Location(postcode="MK42 8AA"), area_name=None)
    assert view.location.street is None and view.location.postcode_sector == "MK42 8"
    assert view.description == "Cars outside [name] every night"
