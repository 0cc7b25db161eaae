"""Routing's tables on PostgreSQL: the migration creates them, and cluster assignment holds
under racing redeliveries of the same report."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from schemas import ClusterRef
from services.router.clustering import ClusterParams, Place
from services.router.clusters import ClusterRequest, place_in_clusters
from services.store.db import make_engine, make_sessions

pytestmark = pytest.mark.integration

PARAMS = ClusterParams(distance_m=250, window=timedelta(days=7))
WHEN = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


def assign_cluster(session: Session, *, reference: str, category: str, category_label: str, place: Place,
                   received_at: datetime, label: str) -> ClusterRef:
    """The router's batch placement for one report, in a transaction of its own."""
    with session.begin():
        (cluster,) = place_in_clusters(
            session, [ClusterRequest(reference, category, category_label, place, received_at, label)], PARAMS)
        return cluster


def test_the_routing_tables_exist(database_url: str) -> None:
    tables = set(inspect(make_engine(database_url)).get_table_names())
    assert {"clusters", "cluster_members", "watch_items"} <= tables


def test_racing_redeliveries_of_one_report_land_in_one_cluster(database_url: str) -> None:
    sessions = make_sessions(make_engine(database_url))

    def assign(_: int) -> ClusterRef:
        with sessions() as s:
            return assign_cluster(s, reference="MECC-RACE-CL01", category="speeding", category_label="Speeding",
                                  place=Place(52.3, -0.3, None), received_at=WHEN, label="Bedford Road")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(assign, range(16)))
    assert len({r.id for r in results}) == 1
    assert {r.reports for r in results} == {1}


def test_nearby_reports_join_on_postgresql(database_url: str) -> None:
    sessions = make_sessions(make_engine(database_url))
    refs = ["MECC-PGCL-0001", "MECC-PGCL-0002", "MECC-PGCL-0003"]
    clusters = []
    for i, ref in enumerate(refs):
        with sessions() as s:
            clusters.append(assign_cluster(
                s, reference=ref, category="drugs", category_label="Drugs",
                place=Place(52.2, -0.35 + i * 0.001, None), received_at=WHEN + timedelta(hours=i),
                label="Bedford Road"))
    assert len({c.id for c in clusters}) == 1
    assert [c.reports for c in clusters] == [1, 2, 3]
