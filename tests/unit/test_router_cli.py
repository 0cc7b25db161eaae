"""The router's command line: ``dry-run`` lets a force check its config against sample reports
without Kafka or a database, and the worker refuses to start on a bad config."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from schemas import Channel
from schemas.events import Destination, DestinationKind
from services.common.config_files import DEFAULT_ROUTING_DIR
from services.feedback import templates
from services.router.config import load_routing_config

ROOT = Path(__file__).resolve().parents[2]

SPEEDING = {
    "category": "speeding",
    "description": "Cars racing on Bedford Road every night, ring Jo on 07700 900123",
    "location": {"postcode": "MK42 8AA", "description": "Bedford Road, Kempston"},
    "informant": {"phone": "07700 900123", "name": "Jo Bloggs"},
}


def dry_run(lines: list[str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # No broker and no database: a dry run must not need them.
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
           "DATABASE_URL": f"sqlite:///{tmp_path}/must-not-exist/store.db"}
    result = subprocess.run([sys.executable, "-m", "services.router", "dry-run", *args], cwd=ROOT, env=env,
                            input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert not (tmp_path / "must-not-exist").exists()
    return result


def test_one_decision_per_line_with_destinations_reasons_areas_and_redactions(tmp_path):
    lines = [json.dumps(SPEEDING),
             json.dumps({"kind": "third_party", "reference": "MECC-0000-0001", "category": "hate-incident",
                         "description": "Abuse shouted at a family", "location": {"latitude": 52.1, "longitude": -0.5},
                         "reporter": {"email": "caseworker@example.org"}}),
             json.dumps({"category": "suspicious-activity", "description": "A man with a knife, happening now",
                         "location": {"latitude": 52.1, "longitude": -0.5}})]
    result = dry_run(lines, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second, third = (json.loads(line) for line in result.stdout.splitlines())

    assert [d["id"] for d in first["destinations"]] == ["roads-policing", "kempston-npt", "kempston-speed-watch"]
    assert first["areas"] == ["bedfordshire", "west-sector", "kempston-north"]
    assert first["reasons"][0].startswith("inside Kempston North neighbourhood (postcode sector MK42 8)")
    (watch,) = first["watch_items"]
    assert watch["description"] == "Cars racing on Bedford Road every night, ring [name] on [phone]"
    assert watch["location"] == {"street": "Bedford Road", "postcode_sector": "MK42 8", "area": "Kempston North"}
    assert {"informant", "phone", "name", "postcode"} <= set(first["redactions"])
    assert first["cluster"].startswith("skipped")

    assert second["reference"] == "MECC-0000-0001" and second["kind"] == "third_party"
    assert second["sensitive"] and second["watch_items"] == []

    assert third["flags"] == ["danger"] and "999" in third["informant_notice"]
    assert third["destinations"][0]["id"] == "force-control-room"


def test_a_bad_line_is_reported_in_place_and_the_rest_still_run(tmp_path):
    bad_phone = {**SPEEDING, "informant": {"phone": "12345"}}
    result = dry_run(["not json", json.dumps(bad_phone), "", json.dumps(SPEEDING)], tmp_path=tmp_path)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0] == {"line": 1, "error": "not JSON: Expecting value at column 1"}
    assert out[1]["line"] == 2 and "phone" in out[1]["error"] and "12345" not in out[1]["error"]
    assert out[2]["line"] == 4 and out[2]["destinations"]


def test_the_same_input_gives_the_same_output(tmp_path):
    a = dry_run([json.dumps(SPEEDING)], tmp_path=tmp_path).stdout
    b = dry_run([json.dumps(SPEEDING)], tmp_path=tmp_path).stdout
    assert a == b


def test_a_candidate_config_directory_can_be_tried(tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_ROUTING_DIR, candidate)
    watches = candidate / "watches.yaml"
    speed_watch_areas = "    areas: [kempston-north, kempston-south]\n    categories: [speeding]"
    watches.write_text(watches.read_text().replace(speed_watch_areas,
                                                   "    areas: [kempston-south]\n    categories: [speeding]"))
    result = dry_run([json.dumps(SPEEDING)], "--config", str(candidate), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [d["id"] for d in json.loads(result.stdout)["destinations"]] == ["roads-policing", "kempston-npt"]


def test_a_bad_config_exits_2_naming_file_and_key(tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_ROUTING_DIR, candidate)
    rules = candidate / "rules.yaml"
    rules.write_text(rules.read_text().replace("    to: [roads-policing]", "    to: [nobody]"))
    result = dry_run([json.dumps(SPEEDING)], "--config", str(candidate), tmp_path=tmp_path)
    assert result.returncode == 2
    assert f"{rules}: rules.speeding.to: 'nobody' is neither a team nor a redirect" in result.stderr
    assert result.stdout == ""


def test_the_router_refuses_to_start_on_bad_config_naming_file_and_key(tmp_path):
    config_dir = tmp_path / "routing"
    shutil.copytree(DEFAULT_ROUTING_DIR, config_dir)
    watches = config_dir / "watches.yaml"
    watches.write_text(watches.read_text().replace("    areas: [bedford-cauldwell]", "    areas: []"))
    result = subprocess.run(
        [sys.executable, "-m", "services.router"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "ROUTING_CONFIG_DIR": str(config_dir),
             "DATABASE_URL": f"sqlite:///{tmp_path}/never.db", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{config_dir / 'watches.yaml'}: watches.cauldwell-street-watch.areas: the watch covers no area" \
        in result.stderr




def test_a_redirect_shows_what_the_informant_is_told(tmp_path):
    fly_tipping = {"category": "fly-tipping", "description": "Mattresses dumped in the lay-by",
                   "location": {"postcode": "MK42 8AA"}, "informant": {"email": "jo@example.org"}}
    result = dry_run([json.dumps(fly_tipping), json.dumps({**fly_tipping, "informant": None})], tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    by_email, anonymous = (json.loads(line) for line in result.stdout.splitlines())
    assert [d["kind"] for d in by_email["destinations"]] == ["redirect"]
    told = by_email["informant_message"]
    assert told["channel"] == "email" and told["would_send"] is True
    partner = load_routing_config(DEFAULT_ROUTING_DIR).rules.redirects["council-environmental-services"]
    assert partner.message in told["text"]
    assert f"Your reference: {by_email['reference']}" in told["text"]
    # Nobody to tell: shown as the SMS it would be, marked as not sent.
    assert anonymous["informant_message"]["channel"] == "sms"
    assert anonymous["informant_message"]["would_send"] is False
    assert partner.message in anonymous["informant_message"]["text"]


def test_every_partner_redirect_reaches_the_informant_uncut_by_text_message():
    """The SMS acknowledgement has two segments: a partner's message longer than what is left
    after the reference and the 999 line would be cut off mid-sentence (the track link gives way)."""
    config = load_routing_config(DEFAULT_ROUTING_DIR)
    longest_label = max((c.label for c in config.categories.categories.values()), key=len)
    for partner_id, partner in config.rules.redirects.items():
        told = templates.acknowledgement(
            Channel.SMS, reference="MECC-ABCD-EFGH", category_label=longest_label,
            destinations=(Destination(kind=DestinationKind.REDIRECT, id=partner_id, name=partner.name,
                                      public_message=partner.message),),
            track_url="https://report.example.police.uk/track/MECC-ABCD-EFGH?secret=" + "x" * 43)
        assert partner.message in told.body, partner_id


def test_a_config_warning_is_shown_and_the_decisions_still_run(tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_ROUTING_DIR, candidate)
    areas = candidate / "areas.geojson"
    data = json.loads(areas.read_text())
    parish = next(f for f in data["features"] if f["properties"]["id"] == "elstow-parish")
    parish["properties"]["parent"] = "east-sector"
    areas.write_text(json.dumps(data))
    result = dry_run([json.dumps(SPEEDING)], "--config", str(candidate), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"warning: {areas}: features[10] (elstow-parish).properties.parent: 'elstow-parish' lies inside " \
           "'bedford-cauldwell'" in result.stderr
    assert json.loads(result.stdout)["destinations"]
