"""Routing's part of the store: clusters of related reports, and the redacted items each watch
may list. The functions over those tables (the tables are in ``models``); every write is
idempotent under redelivery.

Which cluster a report joins is decided by the router (``services.router.clustering``, pure);
this module fetches the nearby reports that decision needs and keeps the result, keyed by
report reference, so a redelivered report finds the cluster it was put in the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from schemas import RoutedItem, WatchItem
from services.store.models import Cluster, ClusterMember, WatchItemRow
from services.store.paging import Cursor
from services.store.repository import add_routings, first_of_each, insert_new


@dataclass(frozen=True)
class MemberRow:
    cluster_id: str
    reference: str
    category: str
    latitude: float | None
    longitude: float | None
    postcode: str | None
    received_at: datetime


@dataclass(frozen=True)
class NewCluster:
    id: str
    category: str
    label: str
    created_at: datetime


# The cluster functions below run inside the caller's transaction, so the router can read
# the neighbours and join clusters atomically (``services.router.clusters``).


@dataclass(frozen=True)
class Search:
    """Reports of a category received in [since, until], either with a point inside ``box``
    (min_lat, max_lat, min_lon, max_lon) or, without a point, at ``postcode``."""

    category: str
    since: datetime
    until: datetime
    box: tuple[float, float, float, float] | None = None
    postcode: str | None = None


def _matching(search: Search) -> ColumnElement[bool]:
    condition = and_(ClusterMember.category == search.category, ClusterMember.received_at >= search.since,
                     ClusterMember.received_at <= search.until)
    if search.box is not None:
        min_lat, max_lat, min_lon, max_lon = search.box
        return and_(condition, ClusterMember.latitude.between(min_lat, max_lat),
                    ClusterMember.longitude.between(min_lon, max_lon))
    return and_(condition, ClusterMember.latitude.is_(None), ClusterMember.postcode == search.postcode)


def candidate_members(session: Session, searches: Sequence[Search], chunk: int = 64) -> list[MemberRow]:
    """Reports matching any of ``searches`` (a batch's neighbourhoods, in a few queries).

    Each query ORs the searches of one chunk, padded to a power of two by repeating the last:
    SQLAlchemy caches a compiled statement per shape, and one shape per batch size would grow
    the router's memory by a megabyte or so per size."""
    found: dict[str, MemberRow] = {}
    for kind in ([s for s in searches if s.box is not None], [s for s in searches if s.box is None]):
        for i in range(0, len(kind), chunk):
            part = list(kind[i:i + chunk])
            part += [part[-1]] * ((1 << (len(part) - 1).bit_length()) - len(part))
            for row in session.scalars(select(ClusterMember).where(or_(*(_matching(s) for s in part)))):
                found[row.reference] = MemberRow(row.cluster_id, row.reference, row.category, row.latitude,
                                                 row.longitude, row.postcode, row.received_at)
    return list(found.values())


def add_clusters(session: Session, clusters: Sequence[NewCluster], members: Sequence[MemberRow]) -> bool:
    """Create clusters (those not there yet) and put reports in them. False when a concurrent
    delivery placed one of the reports first: read ``member_clusters`` again for the truth."""
    insert_new(session, Cluster, [
        {"id": c.id, "category": c.category, "label": c.label, "created_at": c.created_at} for c in clusters
    ], "id")
    added = insert_new(session, ClusterMember, [
        {"reference": m.reference, "cluster_id": m.cluster_id, "category": m.category, "latitude": m.latitude,
         "longitude": m.longitude, "postcode": m.postcode, "received_at": m.received_at} for m in members
    ], "reference")
    return len(added) == len(members)


def cluster_timelines(session: Session, cluster_ids: Sequence[str]) -> dict[str, tuple[str, list[datetime]]]:
    """Each cluster's label and its reports' receipt times, oldest first."""
    if not cluster_ids:
        return {}
    ids = set(cluster_ids)
    timelines: dict[str, tuple[str, list[datetime]]] = {
        cluster_id: (label, []) for cluster_id, label in session.execute(
            select(Cluster.id, Cluster.label).where(Cluster.id.in_(ids))).tuples()
    }
    for cluster_id, received_at in session.execute(
            select(ClusterMember.cluster_id, ClusterMember.received_at)
            .where(ClusterMember.cluster_id.in_(ids)).order_by(ClusterMember.received_at)).tuples():
        timelines[cluster_id][1].append(received_at)
    return timelines


def member_clusters(session: Session, references: Sequence[str]) -> dict[str, str]:
    """The clusters some reports are already in, by reference (one query)."""
    if not references:
        return {}
    rows = session.execute(select(ClusterMember.reference, ClusterMember.cluster_id)
                           .where(ClusterMember.reference.in_(set(references))))
    return {reference: cluster_id for reference, cluster_id in rows}


def add_watch_items(session: Session, items: Sequence[WatchItem]) -> int:
    """Project watch items inside the caller's transaction; returns how many were new."""
    unique = first_of_each(items, lambda i: (i.watch_id, i.reference))
    return len(insert_new(session, WatchItemRow, [
        {"watch_id": i.watch_id, "reference": i.reference, "event_id": str(i.event_id), "category": i.category,
         "received_at": i.received_at, "item": i.model_dump(mode="json")}
        for i in unique
    ], "reference"))


def add_routed(session: Session, items: Sequence[RoutedItem], watch_items: Sequence[WatchItem]) -> int:
    """A batch of routing decisions and the watch items they made, inside the caller's
    transaction; returns how many reports were new."""
    added = add_routings(session, items)
    add_watch_items(session, watch_items)
    return added


def watch_items_for(session: Session, watch_id: str, *, limit: int = 50,
                    before: Cursor | None = None) -> list[dict[str, Any]]:
    """A watch's items, newest first (by receipt, then reference), as the ``WatchItem`` JSON it was
    given; ``before`` a cursor, only those after it in that order (the next page)."""
    with session.begin():
        query = select(WatchItemRow).where(WatchItemRow.watch_id == watch_id)
        if before is not None:
            query = query.where(tuple_(WatchItemRow.received_at, WatchItemRow.reference)
                                < tuple_(before.received_at, before.reference))
        rows = session.scalars(
            query.order_by(WatchItemRow.received_at.desc(), WatchItemRow.reference.desc()).limit(limit))
        return [dict(row.item) for row in rows]


def cluster_references(session: Session, cluster_id: str) -> list[str]:
    """Every report in a cluster, oldest first."""
    with session.begin():
        return list(session.scalars(
            select(ClusterMember.reference).where(ClusterMember.cluster_id == cluster_id)
            .order_by(ClusterMember.received_at, ClusterMember.reference)
        ))
