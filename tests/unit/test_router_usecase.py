"""The router's use case on fakes: a batch is routed, clustered, recorded in one transaction
and published (each report's routed item before its watch items, in batch order), and the call
returns only once the broker has everything. A failure records and publishes nothing of the
batch; a redelivered batch is recorded once and republished with the same event ids."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from schemas import (
    ClusterRef,
    Informant,
    Location,
    PublicContact,
    ReportDetails,
    RoutedItem,
    ThirdPartyContact,
    WatchItem,
)
from schemas.events import new_reference
from schemas.topics import REPORTS_ROUTED, WATCH_ITEMS
from services.router.clustering import ClusterParams
from services.router.clusters import ClusterRequest
from services.router.config import RoutingConfig, load_routing_config
from services.router.usecase import RouteContacts, RoutingTransaction

T = TypeVar("T")
KEMPSTON_NORTH = (52.125, -0.495)
KEMPSTON_SOUTH = (52.100, -0.500)


@dataclass
class Tables:
    routed: dict[str, RoutedItem] = field(default_factory=dict)
    watch: dict[tuple[str, str], WatchItem] = field(default_factory=dict)
    clusters: dict[str, ClusterRef] = field(default_factory=dict)  # by reference
    by_label: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (category, label) -> refs


class FakeTransaction:
    """Writes to a copy of the tables; the store keeps the copy only if the work returns."""

    def __init__(self, tables: Tables, poison: set[str]) -> None:
        self.tables = Tables(dict(tables.routed), dict(tables.watch), dict(tables.clusters),
                             {k: list(v) for k, v in tables.by_label.items()})
        self.poison = poison
        self.placed: list[list[str]] = []

    def place_in_clusters(self, requests: Sequence[ClusterRequest], params: ClusterParams) -> list[ClusterRef]:
        self.placed.append([r.reference for r in requests])
        refs = []
        for r in requests:
            if r.reference not in self.tables.clusters:
                members = self.tables.by_label.setdefault((r.category, r.label), [])
                members.append(r.reference)
                self.tables.clusters[r.reference] = ClusterRef(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"{r.category}/{r.label}"), reports=len(members),
                    first_received_at=r.received_at, label=r.label, summary=f"{len(members)} reports")
            refs.append(self.tables.clusters[r.reference])
        return refs

    def add_routed(self, items: Sequence[RoutedItem], watch_items: Sequence[WatchItem]) -> int:
        added = 0
        for item in items:
            if item.reference in self.poison:
                raise RuntimeError(f"cannot store {item.reference}")
            if item.reference not in self.tables.routed:
                self.tables.routed[item.reference] = item
                added += 1
        for w in watch_items:
            self.tables.watch.setdefault((w.watch_id, w.reference), w)
        return added


class FakeStore:
    def __init__(self, poison: set[str] | None = None) -> None:
        self.tables = Tables()
        self.poison = poison or set()
        self.transactions: list[FakeTransaction] = []

    async def in_transaction(self, work: Callable[[RoutingTransaction], T]) -> T:
        tx = FakeTransaction(self.tables, self.poison)
        self.transactions.append(tx)
        result = work(tx)
        self.tables = tx.tables  # commit
        return result


class FakePublisher:
    """Records what is sent, in order; the broker acknowledges only when ``ack`` says so."""

    def __init__(self, auto_ack: bool = True) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.acks: list[asyncio.Future[None]] = []
        self.auto_ack = auto_ack

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Any]:
        self.sent.append((topic, key, value))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.auto_ack:
            ack.set_result(None)
        self.acks.append(ack)
        return ack

    def on(self, topic: str) -> list[tuple[bytes, bytes]]:
        return [(key, value) for t, key, value in self.sent if t == topic]

    def routed(self) -> list[RoutedItem]:
        return [RoutedItem.model_validate_json(v) for _, v in self.on(REPORTS_ROUTED.name)]


def event(record: tuple[str, bytes, bytes]) -> tuple[str, bytes, str]:
    topic, key, value = record
    model = RoutedItem if topic == REPORTS_ROUTED.name else WatchItem
    return topic, key, str(model.model_validate_json(value).event_id)


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_routing_config()


def contact(category: str = "speeding", *, point: tuple[float, float] | None = KEMPSTON_NORTH,
            text: str = "Cars racing on Bedford Road every night") -> PublicContact | ThirdPartyContact:
    location = Location(latitude=point[0], longitude=point[1]) if point else Location(description="somewhere")
    return PublicContact(reference=new_reference(),
                         report=ReportDetails(category=category, description=text, location=location),
                         informant=Informant(phone="07700900123"))


async def test_a_batch_is_recorded_in_one_transaction_and_published_in_order(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    batch = [contact(), contact("rural-crime", point=KEMPSTON_SOUTH), contact()]
    routed = await RouteContacts(config, store, publisher)(batch)

    assert len(store.transactions) == 1  # one transaction for the whole batch
    assert list(store.tables.routed) == [c.reference for c in batch]
    assert [i.reference for i in routed.items] == [c.reference for c in batch]
    # each report's routed item goes first, then its watch items; reports in batch order
    expected = []
    for item, watch_list in zip(routed.items, routed.watch_items, strict=True):
        expected.append((REPORTS_ROUTED.name, item.reference.encode()))
        expected += [(WATCH_ITEMS.name, w.watch_id.encode()) for w in watch_list]
    assert [(t, k) for t, k, _ in publisher.sent] == expected
    assert publisher.routed() == routed.items


async def test_every_event_the_router_publishes_carries_its_clock_s_time(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    at = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)  # far from the wall clock, whatever day it is run
    await RouteContacts(config, store, publisher, clock=lambda: at)([contact(), contact("rural-crime")])
    routed = publisher.routed()
    watched = [WatchItem.model_validate_json(value) for _, value in publisher.on(WATCH_ITEMS.name)]
    assert routed and watched  # speeding in Kempston reaches its watch
    assert {i.emitted_at for i in routed} | {w.emitted_at for w in watched} == {at}
    assert {i.emitted_at for i in store.tables.routed.values()} == {at}  # and is recorded as decided then


async def test_speeding_in_kempston_reaches_its_watch_and_is_recorded_for_it(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    c = contact()
    await RouteContacts(config, store, publisher)([c])
    ((key, value),) = publisher.on(WATCH_ITEMS.name)
    watch_item = WatchItem.model_validate_json(value)
    assert key == b"kempston-speed-watch" and watch_item.reference == c.reference
    assert store.tables.watch == {("kempston-speed-watch", c.reference): watch_item}


async def test_reports_nearby_share_a_cluster_and_count_up(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    route = RouteContacts(config, store, publisher)
    first, second = contact(), contact()
    await route([first])
    await route([second])
    a, b = publisher.routed()
    assert a.cluster is not None and b.cluster is not None
    assert a.cluster.id == b.cluster.id and (a.cluster.reports, b.cluster.reports) == (1, 2)


async def test_a_report_without_a_place_is_not_clustered(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    placed, nowhere = contact(), contact(point=None)
    routed = await RouteContacts(config, store, publisher)([placed, nowhere])
    assert store.transactions[0].placed == [[placed.reference]]  # only the one with a point is asked
    assert routed.items[0].cluster is not None and routed.items[1].cluster is None


async def test_a_report_suggesting_danger_is_flagged_and_kept_from_watches(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    danger = contact(text="A man with a knife on Bedford Road")
    await RouteContacts(config, store, publisher)([danger, contact()])
    flagged, ordinary = publisher.routed()
    assert flagged.flags == ("danger",) and flagged.destinations[0].id == "force-control-room"
    assert [WatchItem.model_validate_json(v).reference for _, v in publisher.on(WATCH_ITEMS.name)] == \
        [ordinary.reference]
    assert [ref for _, ref in store.tables.watch] == [ordinary.reference]


async def test_a_redelivered_batch_is_recorded_once_and_republished_the_same(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher()
    route = RouteContacts(config, store, publisher)
    batch = [contact(), contact()]
    first = await route(batch)
    sent = list(publisher.sent)
    again = await route(batch)
    assert len(store.tables.routed) == 2 and len(store.tables.watch) == 2
    assert [i.event_id for i in again.items] == [i.event_id for i in first.items]
    assert [i.cluster for i in again.items] == [i.cluster for i in first.items]
    # the same events again (same topics, keys and event ids), which consumers skip
    assert [event(r) for r in publisher.sent[len(sent):]] == [event(r) for r in sent]


async def test_a_poison_report_sinks_only_its_own_batch_and_then_only_itself(config: RoutingConfig) -> None:
    good, bad, other = contact(), contact(), contact()
    store, publisher = FakeStore(poison={bad.reference}), FakePublisher()
    route = RouteContacts(config, store, publisher)
    with pytest.raises(RuntimeError):
        await route([good, bad, other])
    assert store.tables.routed == {} and store.tables.clusters == {}  # nothing of the batch recorded
    assert publisher.sent == []  # nor published

    # the stream then handles the batch one by one: the others go through, the poison alone fails
    await route([good])
    with pytest.raises(RuntimeError):
        await route([bad])
    await route([other])
    assert list(store.tables.routed) == [good.reference, other.reference]
    assert [i.reference for i in publisher.routed()] == [good.reference, other.reference]


async def test_the_batch_is_done_only_once_the_broker_has_every_record(config: RoutingConfig) -> None:
    store, publisher = FakeStore(), FakePublisher(auto_ack=False)
    handling = asyncio.ensure_future(RouteContacts(config, store, publisher)([contact(), contact()]))
    while len(publisher.sent) < 4:  # two routed items, two watch items
        await asyncio.sleep(0)
    for ack in publisher.acks[:-1]:
        ack.set_result(None)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not handling.done()  # one record still unacknowledged: the batch is not acknowledged
    publisher.acks[-1].set_result(None)
    routed = await handling
    assert len(routed.items) == 2


async def test_a_sensitive_report_is_never_clustered(config: RoutingConfig) -> None:
    """A cluster member keeps its place in plain text: a sensitive report's place (where someone
    lives, for domestic abuse) stays only in the encrypted report."""
    store, publisher = FakeStore(), FakePublisher()
    abuse = contact("domestic-abuse", text="My partner hits me at home")
    words = contact(text="Cars racing on Bedford Road, and next door he hits her every night")
    ordinary = contact()
    routed = await RouteContacts(config, store, publisher)([abuse, words, ordinary])
    assert [i.sensitive for i in routed.items] == [True, True, False]
    assert store.transactions[0].placed == [[ordinary.reference]]  # only the ordinary one is asked
    assert [i.cluster is None for i in routed.items] == [True, True, False]
    assert set(store.tables.clusters) == {ordinary.reference}
