"""Routing's part of the store: clusters of related reports, and the redacted items each watch
may list. Tables and the functions over them; every write is idempotent under redelivery.

Which cluster a report joins is decided by the router (``services.router.clustering``, pure);
this module fetches the nearby reports that decision needs and keeps the result, keyed by
report reference, so a redelivered report finds the cluster it was put in the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from schemas import WatchItem
from services.store.models import Base


class Cluster(Base):
    """Reports of the same category close in place and time."""

    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    #: What it is about, coarse enough for a watch: a street, postcode sector or area.
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClusterMember(Base):
    """One report's place in a cluster. Keyed by reference: a report is in one cluster, once."""

    __tablename__ = "cluster_members"
    __table_args__ = (
        Index("ix_cluster_members_category_received", "category", "received_at"),
        Index("ix_cluster_members_postcode", "postcode"),
    )

    reference: Mapped[str] = mapped_column(String(20), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WatchItemRow(Base):
    """A redacted item as a watch's coordinators may list it (the ``WatchItem`` event)."""

    __tablename__ = "watch_items"
    __table_args__ = (Index("ix_watch_items_watch_received", "watch_id", "received_at"),)

    watch_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    category: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    item: Mapped[dict[str, Any]] = mapped_column(JSON)


@dataclass(frozen=True)
class MemberRow:
    cluster_id: str
    reference: str
    latitude: float | None
    longitude: float | None
    postcode: str | None
    received_at: datetime


def _aware(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# The cluster functions below run inside the caller's transaction, so the router can read
# the neighbours and join a cluster atomically (``services.router.clusters``).


def member_cluster(session: Session, reference: str) -> str | None:
    """The cluster a report is already in, if any."""
    row = session.get(ClusterMember, reference)
    return None if row is None else row.cluster_id


def nearby_members(
    session: Session,
    *,
    category: str,
    since: datetime,
    until: datetime,
    box: tuple[float, float, float, float] | None = None,
    postcode: str | None = None,
) -> list[MemberRow]:
    """Reports of a category received in [since, until], either with a point inside ``box``
    (min_lat, max_lat, min_lon, max_lon) or, without a point, at ``postcode``."""
    query = select(ClusterMember).where(
        ClusterMember.category == category,
        ClusterMember.received_at >= since,
        ClusterMember.received_at <= until,
    )
    if box is not None:
        min_lat, max_lat, min_lon, max_lon = box
        query = query.where(ClusterMember.latitude.between(min_lat, max_lat),
                            ClusterMember.longitude.between(min_lon, max_lon))
    else:
        query = query.where(ClusterMember.latitude.is_(None), ClusterMember.postcode == postcode)
    return [
        MemberRow(row.cluster_id, row.reference, row.latitude, row.longitude, row.postcode,
                  _aware(row.received_at))
        for row in session.scalars(query)
    ]


def add_member(
    session: Session,
    *,
    reference: str,
    cluster_id: str,
    category: str,
    latitude: float | None,
    longitude: float | None,
    postcode: str | None,
    received_at: datetime,
    label: str,
) -> str:
    """Put a report in a cluster, creating the cluster if it is new. Returns the cluster the
    report is in: an earlier delivery's, if one got there first."""
    try:
        with session.begin_nested():
            if session.get(Cluster, cluster_id) is None:
                session.add(Cluster(id=cluster_id, category=category, label=label, created_at=received_at))
                session.flush()
            session.add(ClusterMember(
                reference=reference, cluster_id=cluster_id, category=category, latitude=latitude,
                longitude=longitude, postcode=postcode, received_at=received_at,
            ))
        return cluster_id
    except IntegrityError:
        return session.get_one(ClusterMember, reference).cluster_id


def cluster_position(session: Session, cluster_id: str, received_at: datetime) -> tuple[int, datetime, str]:
    """(reports received up to ``received_at``, the first one's time, the cluster's label)."""
    cluster = session.get_one(Cluster, cluster_id)
    count, first = session.execute(
        select(func.count(), func.min(ClusterMember.received_at))
        .where(ClusterMember.cluster_id == cluster_id, ClusterMember.received_at <= received_at)
    ).one()
    return int(count), _aware(first), cluster.label


def record_watch_items(session: Session, items: Sequence[WatchItem]) -> int:
    """Project watch items for coordinators to list; returns how many were new."""
    added = 0
    with session.begin():
        for item in items:
            if session.get(WatchItemRow, (item.watch_id, item.reference)) is not None:
                continue
            try:
                with session.begin_nested():
                    session.add(WatchItemRow(
                        watch_id=item.watch_id, reference=item.reference, event_id=str(item.event_id),
                        category=item.category, received_at=item.received_at,
                        item=item.model_dump(mode="json"),
                    ))
                added += 1
            except IntegrityError:
                continue
    return added


def watch_items_for(session: Session, watch_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """A watch's items, newest first, as the ``WatchItem`` JSON it was given."""
    with session.begin():
        rows = session.scalars(
            select(WatchItemRow)
            .where(WatchItemRow.watch_id == watch_id)
            .order_by(WatchItemRow.received_at.desc(), WatchItemRow.reference)
            .limit(limit)
        )
        return [dict(row.item) for row in rows]


def cluster_references(session: Session, cluster_id: str) -> list[str]:
    """Every report in a cluster, oldest first."""
    with session.begin():
        return list(session.scalars(
            select(ClusterMember.reference).where(ClusterMember.cluster_id == cluster_id)
            .order_by(ClusterMember.received_at, ClusterMember.reference)
        ))
