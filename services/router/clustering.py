"""Linking repeated reports of the same thing. Pure: the store fetches candidates and keeps
the links (``services.store.routing``); this module decides.

Two reports belong together when they have the same category, were received within
``window_days`` of each other and are within ``distance_m`` of each other (by their points),
or, for reports that give a postcode and no point, have the same full postcode. A report
joins the cluster of the nearest such report (ties: the earlier report, then the cluster
id), so a run of reports along a road forms one cluster. Clusters are never merged
afterwards: a report that bridges two clusters joins the nearer one. Reports with neither
a point nor a postcode are not clustered.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas import Location
from services.common.postcodes import parse_postcode

EARTH_RADIUS_M = 6_371_008.8
_NAMESPACE = uuid.UUID("3f0c62b6-6f0e-4c1e-9a57-0c6f1f3f1f6a")


@dataclass(frozen=True)
class ClusterParams:
    distance_m: float
    window: timedelta


@dataclass(frozen=True)
class Place:
    latitude: float | None
    longitude: float | None
    #: Full postcode in canonical form ("MK42 8AA"), for reports without a point.
    postcode: str | None


@dataclass(frozen=True)
class Member:
    """A report already in a cluster, as the store hands it back."""

    cluster_id: uuid.UUID
    reference: str
    place: Place
    received_at: datetime


def place_of(location: Location) -> Place | None:
    """Where a report can be clustered: its point, else its postcode; None if neither."""
    postcode = parse_postcode(location.postcode) if location.postcode else None
    if location.latitude is not None and location.longitude is not None:
        return Place(location.latitude, location.longitude, postcode.full if postcode else None)
    if postcode is not None:
        return Place(None, None, postcode.full)
    return None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def search_box(latitude: float, longitude: float, distance_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that holds every point within ``distance_m``:
    what the store filters on before distances are measured here."""
    dlat = math.degrees(distance_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


def distance(a: Place, b: Place) -> float | None:
    """Metres between two places, or None if they cannot be compared. Two postcode-only
    places with the same postcode are 0 apart."""
    if a.latitude is not None and a.longitude is not None and b.latitude is not None and b.longitude is not None:
        return haversine_m(a.latitude, a.longitude, b.latitude, b.longitude)
    if a.latitude is None and b.latitude is None and a.postcode is not None and a.postcode == b.postcode:
        return 0.0
    return None


def choose(place: Place, received_at: datetime, members: list[Member], params: ClusterParams) -> uuid.UUID | None:
    """The cluster a new report joins, or None for a new cluster."""
    best: tuple[float, datetime, str] | None = None
    chosen = None
    for member in members:
        if abs(member.received_at - received_at) > params.window:
            continue
        metres = distance(place, member.place)
        if metres is None or metres > params.distance_m:
            continue
        key = (metres, member.received_at, str(member.cluster_id))
        if best is None or key < best:
            best, chosen = key, member.cluster_id
    return chosen


def new_cluster_id(reference: str) -> uuid.UUID:
    """A new cluster is named after the report that started it, so a redelivered report that
    starts a cluster starts the same one."""
    return uuid.uuid5(_NAMESPACE, f"mecc:cluster:{reference}")


def cluster_label(*, street: str | None, postcode_sector: str | None, area_name: str | None) -> str:
    """What the cluster is about, coarse enough to show a watch: a street, a postcode sector
    or an area."""
    return street or postcode_sector or area_name or "an unnamed place"


def summary(*, reports: int, category_label: str, label: str, first_received_at: datetime,
            now: datetime) -> str:
    """e.g. "9 reports of speeding near Bedford Road since 3 Nov"."""
    what, where = category_label.lower()[:60], label[:100]
    if reports == 1:
        return f"First report of {what} near {where}"
    since = f"{first_received_at.day} {first_received_at:%b}"
    if first_received_at.year != now.year:
        since += f" {first_received_at.year}"
    return f"{reports} reports of {what} near {where} since {since}"
