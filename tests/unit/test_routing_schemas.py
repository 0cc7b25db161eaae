"""The routing events: RoutedItem grew fields without breaking version 1, and WatchItem, the
coordinators' event, has nowhere to put an informant."""

import json
import uuid
from datetime import UTC, datetime

from schemas import TOPICS, RoutedItem, WatchItem, WatchLocation, model_for
from schemas.events import CATEGORY_ID_PATTERN, new_reference
from schemas.export import export

OLD_ROUTED_ITEM = {
    "event_id": str(uuid.uuid4()), "schema_version": 1, "emitted_at": "2026-11-01T10:00:00Z",
    "reference": "MECC-7K3Q-9XJD",
    "contact": {"event_id": str(uuid.uuid4()), "schema_version": 1, "emitted_at": "2026-11-01T10:00:00Z",
                "kind": "public", "reference": "MECC-7K3Q-9XJD", "received_at": "2026-11-01T10:00:00Z",
                "report": {"category": "speeding", "description": "Cars racing",
                           "location": {"postcode": "MK42 8AA"}}},
    "destinations": [{"kind": "team", "id": "kempston-npt", "name": "Kempston neighbourhood team"}],
    "reasons": ["category speeding → Kempston neighbourhood team"], "sensitive": False, "rules_version": "abc",
}


def test_a_routed_item_written_before_areas_and_flags_still_reads():
    item = RoutedItem.model_validate_json(json.dumps(OLD_ROUTED_ITEM))
    assert item.schema_version == 1
    assert (item.areas, item.flags, item.cluster, item.informant_notice) == ((), (), None, None)


def watch_item() -> WatchItem:
    return WatchItem(
        reference=new_reference(), watch_id="kempston-speed-watch", watch_name="Kempston Speed Watch",
        delivery="per_item", coordinator_ids=("coord-kempston-speed",), category="speeding",
        category_label="Speeding and road safety", description="Cars racing on Bedford Road",
        location={"street": "Bedford Road", "postcode_sector": "MK42 8", "area": "Kempston North"},
        received_at=datetime.now(UTC), redactions=("informant", "postcode"),
    )


def test_a_watch_item_round_trips_and_has_no_field_for_a_person():
    item = watch_item()
    assert WatchItem.model_validate_json(item.model_dump_json()) == item
    fields = set(WatchItem.model_fields)
    assert not fields & {"contact", "informant", "reporter", "subject", "latitude", "longitude", "postcode"}
    assert not set(WatchLocation.model_fields) & {"latitude", "longitude", "postcode"}


def test_watch_items_have_their_topic_and_json_schema(tmp_path):
    assert model_for("watch.items") is WatchItem
    assert TOPICS["watch.items"].partitions == 4
    export(tmp_path)
    schema = json.loads((tmp_path / "watch.items.schema.json").read_text())
    assert {"delivery", "coordinator_ids", "redactions"} <= set(schema["properties"])
    routed = json.loads((tmp_path / "reports.routed.schema.json").read_text())
    assert {"areas", "flags", "cluster", "informant_notice"} <= set(routed["properties"])


def test_the_category_id_pattern_the_config_checks_is_the_one_the_events_publish(tmp_path):
    export(tmp_path)
    schema = json.loads((tmp_path / "contacts.public.schema.json").read_text())
    assert schema["$defs"]["ReportDetails"]["properties"]["category"]["pattern"] == CATEGORY_ID_PATTERN
    watch = json.loads((tmp_path / "watch.items.schema.json").read_text())
    assert watch["properties"]["category"]["pattern"] == CATEGORY_ID_PATTERN
