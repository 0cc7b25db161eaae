import shutil
from pathlib import Path

import pytest

from schemas import Informant, Location, PublicContact, ReportDetails
from schemas.events import new_reference
from services.common.config_files import DEFAULT_ROUTING_DIR, ConfigError
from services.router.config import load_routing_config
from services.router.routing import decide, routed_item


@pytest.fixture(scope="module")
def config():
    return load_routing_config()


def contact(category: str) -> PublicContact:
    return PublicContact(
        reference=new_reference(),
        report=ReportDetails(category=category, description="Something seen",
                             location=Location(postcode="MK42 8AA")),
        informant=Informant(phone="07700900123"),
    )


def test_speeding_goes_to_roads_policing_and_the_neighbourhood_team_with_reasons(config):
    decision = decide(contact("speeding"), config)
    assert [d.id for d in decision.destinations] == ["roads-policing", "kempston-npt"]
    assert "speeding" in decision.reasons[0] and "Roads policing unit" in decision.reasons[0]
    assert not decision.sensitive


def test_sensitive_category_goes_only_to_police_and_says_why(config):
    decision = decide(contact("domestic-abuse"), config)
    assert [(d.kind, d.id) for d in decision.destinations] == [("team", "safeguarding-hub")]
    assert decision.sensitive
    assert any("sensitive" in r for r in decision.reasons)


def test_a_category_with_no_rule_goes_to_the_fallback_never_nowhere(config):
    decision = decide(contact("other"), config)
    assert [d.id for d in decision.destinations] == ["force-contact-centre"]
    assert "fallback" in decision.reasons[0]


def test_fly_tipping_is_redirected_with_a_useful_answer(config):
    decision = decide(contact("fly-tipping"), config)
    (dest,) = decision.destinations
    assert dest.kind == "redirect"
    assert "council" in (dest.public_message or "").lower()


def test_routing_the_same_contact_twice_gives_the_same_event(config):
    c = contact("drugs")
    assert routed_item(c, config).event_id == routed_item(c, config).event_id
    assert routed_item(c, config).rules_version == config.version


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "routing"
    shutil.copytree(DEFAULT_ROUTING_DIR, target)
    return target


def test_a_rule_for_an_unknown_category_names_the_file_and_key(config_dir):
    rules = config_dir / "rules.yaml"
    rules.write_text(rules.read_text().replace("  drugs: [kempston-npt]", "  drugz: [kempston-npt]"))
    with pytest.raises(ConfigError) as exc:
        load_routing_config(config_dir)
    assert f"{rules}: rules.drugz: unknown category" in str(exc.value)


def test_a_rule_pointing_to_nothing_names_the_file_and_key(config_dir):
    rules = config_dir / "rules.yaml"
    rules.write_text(rules.read_text().replace("  drugs: [kempston-npt]", "  drugs: [nobody]"))
    with pytest.raises(ConfigError, match=r"rules\.drugs: 'nobody' is neither a team nor a redirect"):
        load_routing_config(config_dir)


def test_a_malformed_file_names_the_file_and_key(config_dir):
    teams = config_dir / "teams.yaml"
    teams.write_text(teams.read_text().replace("    name: Roads policing unit", "    nme: Roads policing unit"))
    with pytest.raises(ConfigError) as exc:
        load_routing_config(config_dir)
    assert f"{teams}: teams.roads-policing.name: Field required" in str(exc.value)


def test_a_fallback_that_names_no_team_is_refused(config_dir):
    teams = config_dir / "teams.yaml"
    teams.write_text(teams.read_text().replace("fallback: force-contact-centre", "fallback: nobody"))
    with pytest.raises(ConfigError, match="fallback: names no team"):
        load_routing_config(config_dir)
