"""Repeated reports of the same thing are linked, so a team sees "9 reports of speeding near
Bedford Road since 3 Nov". The decision is pure; the links live in the store (SQLite here,
PostgreSQL in the integration tests)."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from schemas import ClusterRef
from services.router.clustering import (
    ClusterParams,
    Member,
    Place,
    choose,
    haversine_m,
    new_cluster_id,
    summary,
)
from services.router.clusters import ClusterRequest, place_in_clusters
from services.store.db import make_engine, make_sessions, migrate

PARAMS = ClusterParams(distance_m=250, window=timedelta(days=7))
T0 = datetime(2026, 11, 3, 21, 0, tzinfo=UTC)
# Points along Bedford Road, Kempston, roughly 150 m apart (0.0022 degrees of longitude).
ROAD = [Place(52.1250, -0.4950 + i * 0.0022, None) for i in range(5)]


def member(place: Place, when: datetime, cluster: uuid.UUID | None = None, ref: str = "MECC-0000-0000") -> Member:
    return Member(cluster or uuid.uuid4(), ref, place, when)


def test_distances_are_in_metres():
    kempston, bedford = (52.1160, -0.5000), (52.1360, -0.4670)
    assert 3000 < haversine_m(*kempston, *bedford) < 3300
    assert 140 < haversine_m(ROAD[0].latitude, ROAD[0].longitude, ROAD[1].latitude, ROAD[1].longitude) < 160


def test_a_report_joins_the_nearest_close_recent_report():
    near, nearer = member(ROAD[2], T0), member(ROAD[1], T0)
    assert choose(ROAD[0], T0 + timedelta(days=1), [near, nearer], PARAMS) == nearer.cluster_id


def test_too_far_or_too_long_ago_starts_a_new_cluster():
    assert choose(ROAD[0], T0, [member(ROAD[2], T0)], PARAMS) is None  # ~300 m
    assert choose(ROAD[0], T0 + timedelta(days=7, minutes=1), [member(ROAD[1], T0)], PARAMS) is None


def test_postcode_only_reports_cluster_by_the_same_postcode():
    here = Place(None, None, "MK42 8AA")
    same, other = member(Place(None, None, "MK42 8AA"), T0), member(Place(None, None, "MK42 8AB"), T0)
    assert choose(here, T0, [other, same], PARAMS) == same.cluster_id
    assert choose(here, T0, [member(ROAD[0], T0)], PARAMS) is None  # a point and a postcode: not comparable


def test_ties_are_broken_the_same_way_every_time():
    a = member(ROAD[1], T0, uuid.UUID(int=2))
    b = member(ROAD[1], T0, uuid.UUID(int=1))
    assert choose(ROAD[0], T0, [a, b], PARAMS) == choose(ROAD[0], T0, [b, a], PARAMS) == uuid.UUID(int=1)


def test_the_summary_reads_like_a_sentence():
    first = datetime(2026, 11, 3, tzinfo=UTC)
    assert summary(reports=9, category_label="Speeding", label="Bedford Road", first_received_at=first,
                   now=first + timedelta(days=5)) == "9 reports of speeding near Bedford Road since 3 Nov"
    assert summary(reports=1, category_label="Speeding", label="MK42 8", first_received_at=first,
                   now=first) == "First report of speeding near MK42 8"
    assert summary(reports=2, category_label="Speeding", label="x", first_received_at=first,
                   now=datetime(2027, 1, 2, tzinfo=UTC)).endswith("since 3 Nov 2026")


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return make_sessions(make_engine(url))


def placed_in(session: Session, requests: list[ClusterRequest]) -> list[ClusterRef]:
    """The router's batch placement, in a transaction of its own."""
    with session.begin():
        return place_in_clusters(session, requests, PARAMS)


def assign(sessions, ref: str, place: Place, when: datetime, category: str = "speeding") -> ClusterRef:
    with sessions() as s:
        (cluster,) = placed_in(s, [ClusterRequest(ref, category, "Speeding", place, when, "Bedford Road")])
        return cluster


def test_reports_along_a_road_in_a_week_form_one_cluster_with_a_running_count(sessions):
    clusters = [assign(sessions, f"MECC-0000-000{i}", place, T0 + timedelta(days=i))
                for i, place in enumerate(ROAD)]
    assert len({c.id for c in clusters}) == 1
    assert [c.reports for c in clusters] == [1, 2, 3, 4, 5]
    assert clusters[-1].first_received_at == T0
    assert clusters[-1].summary == "5 reports of speeding near Bedford Road since 3 Nov"


def test_far_old_or_different_reports_start_their_own_clusters(sessions):
    first = assign(sessions, "MECC-0000-0001", ROAD[0], T0)
    far = assign(sessions, "MECC-0000-0002", Place(52.1360, -0.4670, None), T0)
    late = assign(sessions, "MECC-0000-0003", ROAD[0], T0 + timedelta(days=8))
    other = assign(sessions, "MECC-0000-0004", ROAD[0], T0, category="drugs")
    assert len({first.id, far.id, late.id, other.id}) == 4
    assert first.id == new_cluster_id("MECC-0000-0001")


def test_assignment_is_idempotent_under_redelivery(sessions):
    assign(sessions, "MECC-0000-0001", ROAD[0], T0)
    second = assign(sessions, "MECC-0000-0002", ROAD[1], T0 + timedelta(hours=1))
    again = assign(sessions, "MECC-0000-0002", ROAD[1], T0 + timedelta(hours=1))
    assign(sessions, "MECC-0000-0003", ROAD[1], T0 + timedelta(hours=2))
    later_redelivery = assign(sessions, "MECC-0000-0002", ROAD[1], T0 + timedelta(hours=1))
    assert second == again == later_redelivery
    assert second.reports == 2


def test_postcode_only_reports_are_clustered_in_the_store(sessions):
    here = Place(None, None, "MK42 8AA")
    a = assign(sessions, "MECC-0000-0001", here, T0)
    b = assign(sessions, "MECC-0000-0002", here, T0 + timedelta(days=1))
    c = assign(sessions, "MECC-0000-0003", Place(None, None, "MK42 8AB"), T0)
    assert a.id == b.id != c.id and b.reports == 2


def batch_of(n: int, seed: int) -> list[ClusterRequest]:
    """Reports of two categories scattered over ~1 km of Kempston across ten days, some by
    postcode only, in the order they were received."""
    rnd = random.Random(seed)
    requests = []
    for i in range(n):
        if rnd.random() < 0.2:
            place = Place(None, None, rnd.choice(["MK42 8AA", "MK42 8AB"]))
        else:
            place = Place(52.120 + rnd.random() * 0.01, -0.500 + rnd.random() * 0.015, None)
        requests.append(ClusterRequest(
            reference=f"MECC-B{seed:03d}-{i:04d}", category=rnd.choice(["speeding", "drugs"]),
            category_label="Speeding", place=place, received_at=T0 + timedelta(hours=i * 240 / n),
            label="Bedford Road"))
    return requests


def sessions_at(path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{path}"
    migrate(url)
    return make_sessions(make_engine(url))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_clusters_exactly_as_the_reports_would_one_at_a_time(tmp_path, seed):
    requests = batch_of(120, seed)
    one_by_one, batched = sessions_at(tmp_path / "one.db"), sessions_at(tmp_path / "batch.db")
    alone = []
    for request in requests:
        with one_by_one() as s:
            alone.extend(placed_in(s, [request]))
    together = []
    for start in range(0, len(requests), 37):  # uneven batches, so some clusters span two
        with batched() as s:
            together.extend(placed_in(s, requests[start:start + 37]))
    assert together == alone
    assert len({c.id for c in alone}) < len(alone) / 2  # the data does cluster


def test_a_replayed_or_repeated_batch_changes_nothing(sessions):
    requests = batch_of(40, 7)
    with sessions() as s:
        first = placed_in(s, requests)
    with sessions() as s:
        replayed = placed_in(s, requests)
    with sessions() as s:
        doubled = placed_in(s, requests[:5] + requests[:5])
    assert replayed == first
    assert doubled == first[:5] + first[:5]


def test_a_report_repeated_later_in_a_batch_keeps_its_first_place(sessions):
    first = ClusterRequest("MECC-0000-0001", "speeding", "Speeding", ROAD[0], T0, "Bedford Road")
    second = ClusterRequest("MECC-0000-0002", "speeding", "Speeding", ROAD[1], T0 + timedelta(hours=1),
                            "Bedford Road")
    with sessions() as s:
        placed = placed_in(s, [first, second, first])
    assert placed[0].id == placed[1].id == placed[2].id == new_cluster_id("MECC-0000-0001")
    assert [c.reports for c in placed] == [1, 2, 1]
