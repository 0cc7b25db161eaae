"""The router records a whole batch of decisions and watch items in one transaction; a replayed
or repeated report changes nothing, and a row a concurrent worker wrote first does not stop the
rest of the batch going in."""

from __future__ import annotations

from sqlalchemy import func, select

from schemas import Informant, Location, PublicContact, ReportDetails
from schemas.events import new_reference
from services.router.config import load_routing_config
from services.router.routing import routed_item, watch_items
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Report, RoutingDecision, WatchItemRow
from services.store.repository import insert_new, report_contact, report_contacts
from services.store.routing import add_routed, watch_items_for


def sessions_in(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return make_sessions(make_engine(url))


def items(n: int):
    config = load_routing_config()
    made = []
    for i in range(n):
        contact = PublicContact(
            reference=new_reference(),
            report=ReportDetails(category="speeding", description=f"Cars racing past the school, report {i}",
                                 location=Location(latitude=52.125, longitude=-0.495)),  # Kempston North
            informant=Informant(phone="+447700900123"),
        )
        made.append(routed_item(contact, config))
    return made, config


def count(sessions, model) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_a_batch_is_recorded_once_however_often_it_arrives(tmp_path):
    sessions = sessions_in(tmp_path)
    batch, config = items(5)
    for_watches = [w for item in batch for w in watch_items(item, config)]
    assert for_watches, "the sample reports should reach a speed watch"
    with sessions() as s, s.begin():
        assert add_routed(s, batch + batch[:2], for_watches + for_watches[:1]) == 5
    with sessions() as s, s.begin():
        assert add_routed(s, batch, for_watches) == 0
    assert count(sessions, Report) == count(sessions, RoutingDecision) == 5
    assert count(sessions, WatchItemRow) == len(for_watches)
    watch_id = for_watches[0].watch_id
    with sessions() as s:
        listed = watch_items_for(s, watch_id)
    assert {i["reference"] for i in listed} == {w.reference for w in for_watches if w.watch_id == watch_id}


def test_a_row_written_first_by_another_worker_does_not_stop_the_rest(tmp_path):
    sessions = sessions_in(tmp_path)
    batch, _ = items(3)
    with sessions() as s, s.begin():
        add_routed(s, batch[1:2], [])  # the other worker's
    with sessions() as s, s.begin():
        reports = insert_new(s, Report, [
            {"reference": i.reference, "kind": i.contact.kind, "category": "speeding",
             "received_at": i.contact.received_at, "contact": i.contact.model_dump(mode="json"), "status": "open"}
            for i in batch], "reference")
        inserted = insert_new(s, RoutingDecision, [
            {"reference": i.reference, "event_id": str(i.event_id), "destinations": [], "reasons": [],
             "rules_version": i.rules_version, "decided_at": i.emitted_at} for i in batch], "reference")
    assert sorted(inserted) == sorted(reports) == sorted([batch[0].reference, batch[2].reference])
    assert count(sessions, RoutingDecision) == count(sessions, Report) == 3
    with sessions() as s:
        kept = s.get_one(RoutingDecision, batch[1].reference)
    assert kept.destinations, "the first writer's row is kept, not overwritten"


def test_the_contacts_of_several_reports_are_read_back_in_one_call(tmp_path):
    sessions = sessions_in(tmp_path)
    batch, _ = items(3)
    with sessions() as s, s.begin():
        add_routed(s, batch, [])
    unknown = new_reference()
    with sessions() as s:
        found = report_contacts(s, [*(item.reference for item in batch), unknown])
    assert set(found) == {item.reference for item in batch}
    for item in batch:
        contact, sensitive = found[item.reference]
        assert contact == item.contact.model_dump(mode="json")
        assert sensitive == item.sensitive
    with sessions() as s:
        assert report_contact(s, batch[0].reference) == found[batch[0].reference]
        assert report_contact(s, unknown) is None
