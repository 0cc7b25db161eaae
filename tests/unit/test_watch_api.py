"""Watch coordinators through the intake API: they list their own watch's redacted items and
record what they did on reports routed to their watch, and nothing else."""

from pathlib import Path

import pytest
import yaml

from schemas import CaseUpdate
from services.common.config_files import DEFAULT_ROUTING_DIR, load_yaml
from services.intake.access import AccessConfig, PrincipalKind
from tests.fakes.intake import intake_client, route

ROOT = Path(__file__).resolve().parents[2]
SPEED_WATCH = {"X-API-Key": "dev-watch-kempston-speed"}
NHW = {"X-API-Key": "dev-watch-kempston-south"}


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path) as client:
        yield client



def test_a_coordinator_lists_their_watchs_items_redacted(api):
    ref = route(api)
    r = api.get("/v1/watches/kempston-speed-watch/items", headers=SPEED_WATCH)
    assert r.status_code == 200, r.text
    body = r.json()
    (item,) = body["items"]
    assert body["watch_id"] == "kempston-speed-watch" and item["reference"] == ref
    assert item["description"] == "Cars racing on Bedford Road, I'm [name] on [phone]"
    assert item["location"] == {"street": "Bedford Road", "postcode_sector": None, "area": "Kempston North"}
    for personal in ("Bloggs", "07700", "900123", "jo@example.org", "52.125", "12 Bedford"):
        assert personal not in r.text


def test_items_are_newest_first_and_limited(api):
    refs = [route(api) for _ in range(3)]
    r = api.get("/v1/watches/kempston-speed-watch/items?limit=2", headers=SPEED_WATCH)
    assert [i["reference"] for i in r.json()["items"]] == refs[::-1][:2]


def test_following_next_cursor_reads_every_item_once(api):
    refs = [route(api) for _ in range(5)]
    seen, url = [], "/v1/watches/kempston-speed-watch/items?limit=2"
    while url:
        body = api.get(url, headers=SPEED_WATCH).json()
        seen += [i["reference"] for i in body["items"]]
        url = body["next_cursor"] and f"/v1/watches/kempston-speed-watch/items?limit=2&cursor={body['next_cursor']}"
    assert sorted(seen) == sorted(refs) and len(seen) == 5
    assert api.get("/v1/watches/kempston-speed-watch/items?cursor=nonsense", headers=SPEED_WATCH).status_code == 422


def test_a_coordinator_cannot_list_another_watch(api):
    route(api)
    r = api.get("/v1/watches/kempston-speed-watch/items", headers=NHW)
    assert r.status_code == 403
    assert "items" not in r.json()


def test_listing_needs_a_watch_key(api):
    route(api)
    assert api.get("/v1/watches/kempston-speed-watch/items").status_code == 401
    assert api.get("/v1/watches/kempston-speed-watch/items",
                   headers={"X-API-Key": "wrong"}).status_code == 401
    assert api.get("/v1/watches/kempston-speed-watch/items",
                   headers={"X-API-Key": "dev-team-kempston"}).status_code == 403


def test_a_watch_records_what_it_did_under_its_own_name(api):
    ref = route(api)
    r = api.post(f"/v1/reports/{ref}/actions", headers=SPEED_WATCH,
                 json={"public_text": "Kempston Speed Watch ran checks on Bedford Road on Tuesday evening"})
    assert r.status_code == 202, r.text
    update = api.recorder.events[-1][2]
    assert isinstance(update, CaseUpdate)
    assert (update.actor_id, update.actor_name) == ("kempston-speed-watch", "Kempston Speed Watch")


def test_a_watch_cannot_act_on_a_report_not_routed_to_it(api):
    ref = route(api)  # speeding: the neighbourhood watch does not take it
    r = api.post(f"/v1/reports/{ref}/actions", headers=NHW, json={"public_text": "We looked"})
    assert r.status_code == 403
    assert api.recorder.events == []


def test_a_watch_cannot_close_a_report(api):
    ref = route(api)
    r = api.post(f"/v1/reports/{ref}/actions", headers=SPEED_WATCH,
                 json={"public_text": "Done", "kind": "closure", "outcome": "resolved"})
    assert r.status_code == 403
    assert api.recorder.events == []


def test_a_sensitive_report_is_never_listed_for_any_watch(api):
    route(api, category="domestic-abuse", text="Shouting next door")
    for key, watch in ((SPEED_WATCH, "kempston-speed-watch"), (NHW, "kempston-south-nhw")):
        assert api.get(f"/v1/watches/{watch}/items", headers=key).json()["items"] == []


def test_the_openapi_document_describes_the_watch_endpoint(api):
    assert "/v1/watches/{watch_id}/items" in api.get("/openapi.json").json()["paths"]


def test_every_watch_principal_is_a_watch_with_the_same_name():
    access = load_yaml(ROOT / "config" / "access.yaml", AccessConfig)
    watches = yaml.safe_load((DEFAULT_ROUTING_DIR / "watches.yaml").read_text())["watches"]
    principals = {pid: p for pid, p in access.principals.items() if p.kind is PrincipalKind.WATCH}
    assert principals, "the sample access config has watch keys"
    for principal_id, principal in principals.items():
        assert principal_id in watches, principal_id
        assert principal.name == watches[principal_id]["name"]


def test_each_item_lists_its_own_updates_and_a_page_costs_the_same_queries_however_many_items(api):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from services.store import repository

    refs = [route(api) for _ in range(4)]
    for n, ref in enumerate(refs[:3]):
        r = api.post(f"/v1/reports/{ref}/actions", json={"public_text": "Told", "watch_note": f"note {n}"},
                     headers={"X-API-Key": "dev-team-kempston"})
        assert r.status_code == 202, r.text
        with api.sessions() as s:
            repository.record_action(s, api.recorder.events[-1][2])

    def statements(limit: int) -> tuple[dict[str, list[str]], int]:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(Engine, "before_cursor_execute", count)
        try:
            body = api.get(f"/v1/watches/kempston-speed-watch/items?limit={limit}", headers=SPEED_WATCH).json()
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        return {i["reference"]: [u["text"] for u in i["updates"]] for i in body["items"]}, len(seen)

    statements(1)  # the key's first use of the minute is written down (api_key_uses); then only reads
    listed, many = statements(4)
    assert listed == {refs[0]: ["note 0"], refs[1]: ["note 1"], refs[2]: ["note 2"], refs[3]: []}
    _, one = statements(1)
    assert many == one  # one query for the page's updates, not one per item
