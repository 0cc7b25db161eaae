"""A bad routing config stops the service at start-up with an error naming the file and the
key. Each test breaks one thing in a copy of the sample config."""

import json
import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from schemas import ReportDetails
from services.common.config_files import DEFAULT_ROUTING_DIR, ConfigError
from services.router.config import load_routing_config


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "routing"
    shutil.copytree(DEFAULT_ROUTING_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def error(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_routing_config(config_dir)
    return str(exc.value)


def edit_areas(config_dir: Path, change) -> Path:
    path = config_dir / "areas.geojson"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def feature(data: dict, area_id: str) -> dict:
    return next(f for f in data["features"] if f["properties"]["id"] == area_id)


ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "config" / "examples" / "minimal"


def test_the_minimal_example_in_the_readme_loads(tmp_path):
    # The README shows each file of the minimal example; load exactly what it shows.
    readme = (ROOT / "README.md").read_text()
    shown = dict(re.findall(r"`config/examples/minimal/([\w.]+)`:\n\n```\w*\n(.*?)```", readme, re.S))
    assert sorted(shown) == sorted(p.name for p in MINIMAL.iterdir())
    assert {"categories.yaml", "areas.geojson", "postcodes.yaml", "teams.yaml", "watches.yaml",
            "coordinators.yaml", "rules.yaml"} == set(shown)
    for name, text in shown.items():
        assert (MINIMAL / name).read_text() == text, f"README and config/examples/minimal/{name} differ"
        (tmp_path / name).write_text(text)
    config = load_routing_config(tmp_path)
    assert config.warnings == ()
    assert set(config.teams.teams) == {"contact-centre", "control-room", "riverside-npt"}
    assert set(config.watches.watches) == {"riverside-speed-watch"} and set(config.rules.redirects) == {"council"}


def test_the_sample_config_loads():
    config = load_routing_config()
    assert len(config.areas) == 11 and len(config.watches.watches) == 4
    assert config.warnings == ()


# --- what the events would refuse ---------------------------------------------------------


def add_category(config_dir: Path, category_id: str, label: str = "Hate incident") -> Path:
    path = config_dir / "categories.yaml"
    path.write_text(path.read_text() + f"  {category_id}:\n    label: {label}\n    description: Words.\n")
    return path


def test_a_category_id_the_events_refuse_is_refused_at_load_naming_file_and_key(config_dir):
    # The event model refuses every report in such a category; the config must not load it.
    with pytest.raises(ValidationError):
        ReportDetails(category="hate_incident", description="x", location={"postcode": "MK42 8AA"})
    categories = add_category(config_dir, "hate_incident")
    assert f"{categories}: categories.hate_incident: 'hate_incident' is not a category id the events accept" \
        in error(config_dir)


@pytest.mark.parametrize("category_id", ["Noise", "x", "a" * 41, "1st-category"])
def test_every_category_id_the_events_refuse_is_refused(config_dir, category_id):
    add_category(config_dir, category_id)
    assert f"categories.{category_id}: {category_id!r} is not a category id the events accept" in error(config_dir)


def test_ids_names_and_labels_too_long_for_the_events_are_refused(config_dir):
    long_id = "t" * 201
    add_category(config_dir, "graffiti", label="L" * 201)
    edit(config_dir / "teams.yaml", "  roads-policing:\n", f"  {long_id}:\n")
    edit(config_dir / "rules.yaml", "    name: Bedford Borough Council highways", "    name: '   '")
    message = error(config_dir)
    assert "categories.yaml: categories.graffiti.label: 'LLLL" in message
    assert f"teams.yaml: teams.{long_id}: '{long_id}' is not a destination id the events accept" in message
    assert "rules.yaml: redirects.council-highways.name: '   ' is not a name the events accept" in message


# --- rules.yaml --------------------------------------------------------------------------


def test_a_rule_for_an_unknown_category_names_the_file_and_key(config_dir):
    rules = config_dir / "rules.yaml"
    edit(rules, "  rural-crime:\n    categories: [rural-crime]", "  rural-crime:\n    categories: [rural-crimes]")
    assert f"{rules}: rules.rural-crime.categories: unknown category 'rural-crimes'" in error(config_dir)


def test_a_rule_pointing_to_nothing_names_the_file_and_key(config_dir):
    edit(config_dir / "rules.yaml", "    to: [rural-crime-team]\n  # Farm", "    to: [nobody]\n  # Farm")
    assert re.search(r"rules\.yaml: rules\.rural-crime\.to: 'nobody' is neither a team nor a redirect",
                     error(config_dir))


def test_a_rule_for_an_unknown_area_is_refused(config_dir):
    edit(config_dir / "rules.yaml", "    areas: [bedford-kingsbrook]", "    areas: [bedford-kingsbrok]")
    assert "rules.yaml: rules.bedford-east.areas: 'bedford-kingsbrok' names no area in areas.geojson" \
        in error(config_dir)


def test_a_rule_cannot_send_a_team_what_it_does_not_take_or_cover(config_dir):
    edit(config_dir / "rules.yaml", "    categories: [rural-crime]\n    to: [rural-crime-team]",
         "    categories: [rural-crime]\n    to: [roads-policing]")
    edit(config_dir / "rules.yaml", "    areas: [bedford-kingsbrook]\n    to: [bedford-east-npt]",
         "    areas: [bedford-kingsbrook]\n    to: [kempston-npt]")
    message = error(config_dir)
    assert "rules.yaml: rules.rural-crime.to: 'roads-policing' does not take category 'rural-crime'" in message
    assert "rules.yaml: rules.bedford-east.to: 'kempston-npt' does not cover area 'bedford-kingsbrook'" in message


def test_a_rule_cannot_name_a_watch(config_dir):
    edit(config_dir / "rules.yaml", "    to: [roads-policing]", "    to: [roads-policing, kempston-speed-watch]")
    assert "rules.yaml: rules.speeding.to: 'kempston-speed-watch' is a watch" in error(config_dir)


@pytest.mark.parametrize(("section", "expected"), [
    ("  speeding: [racing]\n", "rules.yaml: sensitive_phrases.speeding: 'speeding' is not a sensitive category"),
    ("  stalking: [follows her]\n", "rules.yaml: sensitive_phrases.stalking: unknown category 'stalking'"),
    ("  domestic-abuse: []\n", "rules.yaml: sensitive_phrases.domestic-abuse: give at least one phrase"),
    ("  domestic-abuse: ['  ']\n", "rules.yaml: sensitive_phrases.domestic-abuse[0]: empty phrase"),
])
def test_sensitive_phrases_must_name_sensitive_categories_with_phrases(config_dir, section, expected):
    rules = config_dir / "rules.yaml"
    start = rules.read_text().index("sensitive_phrases:")
    end = rules.read_text().index("\n\n", start)
    rules.write_text(rules.read_text()[:start] + "sensitive_phrases:\n" + section + rules.read_text()[end + 1:])
    assert expected in error(config_dir)


def test_sensitive_phrases_need_a_rule_for_their_category(config_dir):
    edit(config_dir / "rules.yaml", "categories: [domestic-abuse, safeguarding]", "categories: [safeguarding]")
    edit(config_dir / "teams.yaml", "categories: [domestic-abuse, safeguarding]", "categories: [safeguarding]")
    assert "sensitive_phrases.domestic-abuse: no rule sends 'domestic-abuse' to a team" in error(config_dir)


def test_the_danger_team_must_exist(config_dir):
    edit(config_dir / "rules.yaml", "  team: force-control-room", "  team: control-room")
    assert "rules.yaml: danger.team: names no team: 'control-room'" in error(config_dir)


def test_a_malformed_rule_names_the_key(config_dir):
    edit(config_dir / "rules.yaml", "    priority: 10", "    priority: high")
    assert "rules.yaml: rules.kempston-rural-thefts.priority: Input should be a valid integer" in error(config_dir)


# --- teams.yaml --------------------------------------------------------------------------


def test_a_malformed_file_names_the_file_and_key(config_dir):
    teams = config_dir / "teams.yaml"
    edit(teams, "    name: Roads policing unit", "    nme: Roads policing unit")
    assert f"{teams}: teams.roads-policing.name: Field required" in error(config_dir)


def test_a_fallback_that_names_no_team_is_refused(config_dir):
    edit(config_dir / "teams.yaml", "fallback: force-contact-centre", "fallback: nobody")
    assert "teams.yaml: fallback: names no team: 'nobody'" in error(config_dir)


def test_the_fallback_must_take_everything_everywhere(config_dir):
    edit(config_dir / "teams.yaml", "fallback: force-contact-centre", "fallback: roads-policing")
    assert "teams.yaml: teams.roads-policing: the fallback team must take every category everywhere" \
        in error(config_dir)


# --- watches.yaml ------------------------------------------------------------------------


def test_a_watch_covering_no_area_is_refused(config_dir):
    edit(config_dir / "watches.yaml", "    areas: [bedford-cauldwell]", "    areas: []")
    assert "watches.yaml: watches.cauldwell-street-watch.areas: the watch covers no area" in error(config_dir)


def test_a_watch_without_areas_at_all_is_refused(config_dir):
    edit(config_dir / "watches.yaml", "    areas: [bedford-cauldwell]\n", "")
    assert "watches.cauldwell-street-watch.areas: the watch covers no area" in error(config_dir)


def test_a_watch_in_an_unknown_area_or_category_is_refused(config_dir):
    edit(config_dir / "watches.yaml", "    areas: [bedford-cauldwell]", "    areas: [cauldwel]")
    edit(config_dir / "watches.yaml", "    categories: [speeding]", "    categories: [speed]")
    message = error(config_dir)
    assert "watches.yaml: watches.cauldwell-street-watch.areas: 'cauldwel' names no area" in message
    assert "watches.yaml: watches.kempston-speed-watch.categories: unknown category 'speed'" in message


def test_a_watch_taking_a_sensitive_category_is_refused(config_dir):
    edit(config_dir / "watches.yaml", "    categories: [anti-social-behaviour, criminal-damage]",
         "    categories: [anti-social-behaviour, criminal-damage, hate-incident]")
    assert "watches.yaml: watches.cauldwell-street-watch.categories: 'hate-incident' is sensitive and never " \
           "goes to a watch" in error(config_dir)


def test_a_watch_needs_known_coordinators_and_a_delivery_choice(config_dir):
    edit(config_dir / "watches.yaml", "    coordinators: [coord-cauldwell]", "    coordinators: [coord-nobody]")
    edit(config_dir / "watches.yaml", "    delivery: inbox_only", "    delivery: carrier_pigeon")
    message = error(config_dir)
    assert "watches.yaml: watches.cauldwell-street-watch.delivery: Input should be 'per_item', 'daily_digest' " \
           "or 'inbox_only'" in message


def test_a_watch_naming_an_unknown_coordinator_is_refused(config_dir):
    edit(config_dir / "watches.yaml", "    coordinators: [coord-cauldwell]", "    coordinators: [coord-nobody]")
    assert "watches.yaml: watches.cauldwell-street-watch.coordinators: 'coord-nobody' is not in " \
           "coordinators.yaml" in error(config_dir)


def test_a_coordinator_nobody_can_reach_is_refused(config_dir):
    edit(config_dir / "coordinators.yaml", "    email: streetwatch.cauldwell@example.org\n", "")
    assert "coordinators.yaml: coordinators.coord-cauldwell: Value error, give a phone or an email" \
        in error(config_dir)


def test_destination_ids_are_unique_across_teams_watches_and_redirects(config_dir):
    edit(config_dir / "watches.yaml", "  kempston-speed-watch:\n", "  roads-policing:\n")
    assert "watches.yaml: roads-policing: the id is also used in teams.yaml" in error(config_dir)


# --- areas.geojson -----------------------------------------------------------------------


def test_invalid_json_is_refused(config_dir):
    (config_dir / "areas.geojson").write_text('{"type": "FeatureCollection", "features": [')
    assert "areas.geojson: not valid JSON" in error(config_dir)


def test_not_a_feature_collection_is_refused(config_dir):
    (config_dir / "areas.geojson").write_text('{"type": "Feature"}')
    assert "areas.geojson: type: must be a GeoJSON FeatureCollection" in error(config_dir)


def test_a_self_intersecting_polygon_names_the_feature(config_dir):
    def bowtie(data):
        feature(data, "bedford-kingsbrook")["geometry"]["coordinates"] = [
            [[-0.45, 52.10], [-0.40, 52.145], [-0.40, 52.10], [-0.45, 52.145], [-0.45, 52.10]]]
    path = edit_areas(config_dir, bowtie)
    assert re.search(rf"{re.escape(str(path))}: features\[8\] \(bedford-kingsbrook\)\.geometry: invalid polygon: "
                     r"Self-intersection", error(config_dir))


def test_a_ring_that_is_not_closed_or_too_short_names_the_feature(config_dir):
    def broken(data):
        feature(data, "elstow-parish")["geometry"]["coordinates"] = [[[-0.47, 52.1], [-0.46, 52.1]]]
    edit_areas(config_dir, broken)
    assert "features[10] (elstow-parish).geometry.coordinates: not valid Polygon coordinates" in error(config_dir)


def test_a_point_geometry_is_refused(config_dir):
    def point(data):
        feature(data, "elstow-parish")["geometry"] = {"type": "Point", "coordinates": [-0.46, 52.1]}
    edit_areas(config_dir, point)
    assert "features[10] (elstow-parish).geometry: must be a Polygon or MultiPolygon" in error(config_dir)


def test_swapped_latitude_and_longitude_are_caught(config_dir):
    def swap(data):
        geometry = feature(data, "elstow-parish")["geometry"]
        geometry["coordinates"] = [[[y, x] for x, y in ring] for ring in geometry["coordinates"]]
    edit_areas(config_dir, swap)
    assert "features[10] (elstow-parish).geometry.coordinates: latitude and longitude look swapped" \
        in error(config_dir)


def test_british_national_grid_coordinates_are_caught(config_dir):
    def bng(data):
        feature(data, "elstow-parish")["geometry"]["coordinates"] = [
            [[505000, 246000], [506000, 246000], [506000, 247000], [505000, 246000]]]
    edit_areas(config_dir, bng)
    assert "not WGS84 longitude/latitude in the UK" in error(config_dir)


def test_an_unknown_area_type_or_missing_id_is_named(config_dir):
    def bad(data):
        feature(data, "elstow-parish")["properties"]["type"] = "county"
        del data["features"][9]["properties"]["id"]
    edit_areas(config_dir, bad)
    message = error(config_dir)
    assert "features[10].properties.type: Input should be 'force', 'sector', 'neighbourhood', 'ward' or 'parish'" \
        in message
    assert "features[9].properties.id: Field required" in message


def test_an_unknown_parent_and_a_duplicate_id_are_named(config_dir):
    def bad(data):
        feature(data, "elstow-parish")["properties"]["parent"] = "east-sectr"
        data["features"][9]["properties"]["id"] = "kempston-south"
    edit_areas(config_dir, bad)
    message = error(config_dir)
    assert "features[10] (elstow-parish).properties.parent: 'east-sectr' names no area" in message
    assert "features[9] (kempston-south).properties.id: 'kempston-south' is also features[4]" in message


def test_parents_forming_a_cycle_are_refused(config_dir):
    def cycle(data):
        feature(data, "bedfordshire")["properties"]["parent"] = "kempston-north"
    edit_areas(config_dir, cycle)
    assert "(bedfordshire).properties.parent: parents form a cycle" in error(config_dir)


def test_an_area_inside_an_area_that_is_not_its_parent_warns_naming_both(config_dir):
    # Elstow parish lies inside Cauldwell and Elstow neighbourhood; with east-sector as its
    # parent, a postcode mapped to the parish would miss the neighbourhood a point finds.
    def reparent(data):
        feature(data, "elstow-parish")["properties"]["parent"] = "east-sector"
    path = edit_areas(config_dir, reparent)
    with capture_logs() as logs:
        config = load_routing_config(config_dir)
    (warning,) = config.warnings
    assert warning.startswith(f"{path}: features[10] (elstow-parish).properties.parent: 'elstow-parish' lies "
                              "inside 'bedford-cauldwell' (features[7]), which is not its parent ('east-sector')")
    assert [entry["warning"] for entry in logs if entry["log_level"] == "warning"] == [warning]


def test_an_area_inside_its_parent_or_a_grandparent_does_not_warn(config_dir):
    # In the sample, every area lies inside its ancestors' shapes and no other's.
    with capture_logs() as logs:
        config = load_routing_config(config_dir)
    assert config.warnings == () and not [e for e in logs if e["log_level"] == "warning"]


def test_extra_gis_properties_are_ignored(config_dir):
    def extra(data):
        feature(data, "elstow-parish")["properties"] |= {"OBJECTID": 17, "Shape_Area": 1.2e6}
    edit_areas(config_dir, extra)
    load_routing_config(config_dir)


# --- postcodes.yaml ----------------------------------------------------------------------


def test_a_postcode_key_that_is_not_a_sector_or_an_area_that_does_not_exist_is_named(config_dir):
    edit(config_dir / "postcodes.yaml", "  MK42 7: [kempston-south]", "  MK42 7A: [kempston-south]")
    edit(config_dir / "postcodes.yaml", "  MK42 9: [bedford-cauldwell]", "  MK42 9: [cauldwell]")
    message = error(config_dir)
    assert "postcodes.yaml: sectors.MK42 7A: not a postcode sector like 'MK42 8'" in message
    assert "postcodes.yaml: sectors.MK42 9: 'cauldwell' names no area" in message


def test_every_problem_is_reported_at_once(config_dir):
    edit(config_dir / "rules.yaml", "    to: [roads-policing]", "    to: [nobody]")
    edit(config_dir / "watches.yaml", "    areas: [bedford-cauldwell]", "    areas: []")
    message = error(config_dir)
    assert "rules.speeding.to" in message and "watches.cauldwell-street-watch.areas" in message


def test_a_file_that_is_not_yaml_is_refused_naming_the_file_and_the_line(config_dir: Path) -> None:
    (config_dir / "teams.yaml").write_text("teams:\n  - id: kempston-npt\n    name: [Kempston\n")
    with pytest.raises(ConfigError, match=r"(?s)teams\.yaml: not valid YAML: .*line 3") as caught:
        load_routing_config(config_dir)
    assert str(config_dir / "teams.yaml") in str(caught.value)
