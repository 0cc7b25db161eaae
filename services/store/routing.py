"""Routing's part of the store: clusters of related reports, and the redacted items each watch
may list. The functions over those tables (the tables are in ``models``); every write is
idempotent under redelivery.

Which cluster a report joins is decided by the router (``services.router.clustering``, pure);
this module fetches the nearby reports that decision needs and keeps the result, keyed by
report reference, so a redelivered report finds the cluster it was put in the first time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select, tuple_
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


def _matching(i: int, boxed: bool) -> ColumnElement[bool]:
    """The ``i``-th search of a statement, its values left as parameters (``_search_params``)."""
    condition = and_(ClusterMember.category == bindparam(f"category_{i}"),
                     ClusterMember.received_at >= bindparam(f"since_{i}"),
                     ClusterMember.received_at <= bindparam(f"until_{i}"))
    if boxed:
        return and_(condition, ClusterMember.latitude.between(bindparam(f"min_lat_{i}"), bindparam(f"max_lat_{i}")),
                    ClusterMember.longitude.between(bindparam(f"min_lon_{i}"), bindparam(f"max_lon_{i}")))
    return and_(condition, ClusterMember.latitude.is_(None), ClusterMember.postcode == bindparam(f"postcode_{i}"))


def _search_params(i: int, search: Search) -> dict[str, Any]:
    params: dict[str, Any] = {f"category_{i}": search.category, f"since_{i}": search.since,
                              f"until_{i}": search.until}
    if search.box is not None:
        for name, value in zip(("min_lat", "max_lat", "min_lon", "max_lon"), search.box, strict=True):
            params[f"{name}_{i}"] = value
    else:
        params[f"postcode_{i}"] = search.postcode
    return params


_MEMBER_COLUMNS = (ClusterMember.cluster_id, ClusterMember.reference, ClusterMember.category, ClusterMember.latitude,
                   ClusterMember.longitude, ClusterMember.postcode, ClusterMember.received_at)


@functools.cache
def _candidates_statement(searches: int, boxed: bool) -> Select[str, str, str, float | None, float | None, str | None,
                                                                datetime]:
    """Members matching any of ``searches`` searches of one kind (with a point, or at a postcode),
    built once per shape: building the statement and its cache key for every batch cost more
    than running it."""
    return select(*_MEMBER_COLUMNS).where(or_(*(_matching(i, boxed) for i in range(searches))))


def candidate_members(session: Session, searches: Sequence[Search], chunk: int = 64) -> list[MemberRow]:
    """Reports matching any of ``searches`` (a batch's neighbourhoods, in a few queries).

    Each query ORs the searches of one chunk, padded to a power of two by repeating the last:
    one statement per shape is built and compiled once, and there are only a few shapes."""
    found: dict[str, MemberRow] = {}
    for boxed in (True, False):
        kind = [s for s in searches if (s.box is not None) == boxed]
        for i in range(0, len(kind), chunk):
            part = list(kind[i:i + chunk])
            part += [part[-1]] * ((1 << (len(part) - 1).bit_length()) - len(part))
            params: dict[str, Any] = {}
            for n, search in enumerate(part):
                params.update(_search_params(n, search))
            for row in session.execute(_candidates_statement(len(part), boxed), params):
                found[row.reference] = MemberRow(*row)
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


@functools.cache
def _timelines_statement() -> Select[str, str, datetime]:
    return (select(Cluster.id, Cluster.label, ClusterMember.received_at)
            .join(ClusterMember, ClusterMember.cluster_id == Cluster.id)
            .where(Cluster.id.in_(bindparam("ids", expanding=True))).order_by(ClusterMember.received_at))


def cluster_timelines(session: Session, cluster_ids: Sequence[str]) -> dict[str, tuple[str, list[datetime]]]:
    """Each cluster's label and its reports' receipt times, oldest first (one query: a cluster is
    made with its first member, in one transaction, so every cluster has one)."""
    if not cluster_ids:
        return {}
    timelines: dict[str, tuple[str, list[datetime]]] = {}
    for cluster_id, label, received_at in session.execute(_timelines_statement(),
                                                          {"ids": sorted(set(cluster_ids))}).tuples():
        timelines.setdefault(cluster_id, (label, []))[1].append(received_at)
    return timelines


@functools.cache
def _member_clusters_statement() -> Select[str, str]:
    return select(ClusterMember.reference, ClusterMember.cluster_id).where(
        ClusterMember.reference.in_(bindparam("references", expanding=True)))


def member_clusters(session: Session, references: Sequence[str]) -> dict[str, str]:
    """The clusters some reports are already in, by reference (one query)."""
    if not references:
        return {}
    rows = session.execute(_member_clusters_statement(), {"references": sorted(set(references))})
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
