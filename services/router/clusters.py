"""Adapter between the pure cluster decision and the store: read the neighbours, choose, and
join, in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from schemas import ClusterRef
from services.router.clustering import (
    ClusterParams,
    Member,
    Place,
    choose,
    new_cluster_id,
    search_box,
    summary,
)
from services.store import routing as store


def assign_cluster(
    session: Session,
    *,
    reference: str,
    category: str,
    category_label: str,
    place: Place,
    received_at: datetime,
    label: str,
    params: ClusterParams,
) -> ClusterRef:
    """The cluster of a report, joining or starting one. The same report always gets the same
    cluster (and, unless an earlier report arrives late, the same count)."""
    with session.begin():
        cluster_id = store.member_cluster(session, reference)
        if cluster_id is None:
            box = None
            if place.latitude is not None and place.longitude is not None:
                box = search_box(place.latitude, place.longitude, params.distance_m)
            rows = store.nearby_members(
                session, category=category, since=received_at - params.window, until=received_at + params.window,
                box=box, postcode=None if box else place.postcode,
            )
            members = [
                Member(uuid.UUID(r.cluster_id), r.reference, Place(r.latitude, r.longitude, r.postcode), r.received_at)
                for r in rows if r.reference != reference
            ]
            chosen = choose(place, received_at, members, params) or new_cluster_id(reference)
            cluster_id = store.add_member(
                session, reference=reference, cluster_id=str(chosen), category=category, latitude=place.latitude,
                longitude=place.longitude, postcode=place.postcode, received_at=received_at, label=label,
            )
        reports, first, cluster_label = store.cluster_position(session, cluster_id, received_at)
    return ClusterRef(
        id=uuid.UUID(cluster_id),
        reports=reports,
        first_received_at=first,
        label=cluster_label,
        summary=summary(reports=reports, category_label=category_label, label=cluster_label,
                        first_received_at=first, now=received_at),
    )
