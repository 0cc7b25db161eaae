"""Adapter between the pure cluster decision and the store: read the neighbours, choose, and
join, a batch of reports in one transaction."""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
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
from services.store.repository import first_of_each


@dataclass(frozen=True)
class ClusterRequest:
    """One report to place in a cluster."""

    reference: str
    category: str
    category_label: str
    place: Place
    received_at: datetime
    label: str


def place_in_clusters(session: Session, requests: Sequence[ClusterRequest], params: ClusterParams
                      ) -> list[ClusterRef]:
    """The clusters of a batch of reports, in order, inside the caller's transaction: each
    report joins or starts one, and sees the reports placed before it in the batch. The same
    report always gets the same cluster (and, unless an earlier report arrives late, the same
    count).

    A handful of queries per batch, whatever its size: where the reports already are, every
    neighbour any of them could join, the new rows, and the clusters' timelines."""
    placed = store.member_clusters(session, [r.reference for r in requests])
    todo = first_of_each((r for r in requests if r.reference not in placed), lambda r: r.reference)
    if todo:
        neighbours: dict[str, list[Member]] = defaultdict(list)
        for row in store.candidate_members(session, [_search(r, params) for r in todo]):
            neighbours[row.category].append(
                Member(uuid.UUID(row.cluster_id), row.reference, Place(row.latitude, row.longitude, row.postcode),
                       row.received_at))
        clusters, members = [], []
        for request in todo:
            candidates = [m for m in neighbours[request.category] if m.reference != request.reference]
            chosen = choose(request.place, request.received_at, candidates, params)
            if chosen is None:
                chosen = new_cluster_id(request.reference)
                clusters.append(store.NewCluster(str(chosen), request.category, request.label,
                                                 request.received_at))
            place = request.place
            neighbours[request.category].append(Member(chosen, request.reference, place, request.received_at))
            members.append(store.MemberRow(str(chosen), request.reference, request.category, place.latitude,
                                           place.longitude, place.postcode, request.received_at))
            placed[request.reference] = str(chosen)
        if not store.add_clusters(session, clusters, members):
            placed = store.member_clusters(session, [r.reference for r in requests])
    timelines = store.cluster_timelines(session, list(placed.values()))
    return [_position(request, placed[request.reference], *timelines[placed[request.reference]])
            for request in requests]


def _search(request: ClusterRequest, params: ClusterParams) -> store.Search:
    """Where a report's neighbours can be: same category, within the window, inside the box
    around its point (or at its postcode, for a report without one)."""
    place, received_at = request.place, request.received_at
    box = None
    if place.latitude is not None and place.longitude is not None:
        box = search_box(place.latitude, place.longitude, params.distance_m)
    return store.Search(category=request.category, since=received_at - params.window,
                        until=received_at + params.window, box=box, postcode=None if box else place.postcode)


def _position(request: ClusterRequest, cluster_id: str, label: str, received: list[datetime]) -> ClusterRef:
    """The report's place in its cluster: how many reports up to and including it, since when."""
    reports = bisect.bisect_right(received, request.received_at)
    return ClusterRef(
        id=uuid.UUID(cluster_id),
        reports=reports,
        first_received_at=received[0],
        label=label,
        summary=summary(reports=reports, category_label=request.category_label, label=label,
                        first_received_at=received[0], now=request.received_at),
    )
