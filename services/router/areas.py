"""Where a report is: areas (polygons from GeoJSON, nested by parent) and postcode sectors.
Pure: built from parsed data, no file I/O.

The rule at boundaries, so a report on a line is decided the same way every time: **a
boundary counts as inside**. A point on an edge shared by two areas is in both (to within
``BOUNDARY_TOLERANCE_DEG``, about a tenth of a millimetre, so floating-point rounding cannot
move a point that is on a line off it). Every list of areas is ordered the same way:
outermost first (by depth in the parent tree), then by id.

Lookups go through a shapely STRtree, so placing a point costs about the same with ten areas
as with thousands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from schemas import AreaRef, AreaType
from services.common.postcodes import OUTWARD

#: Points this close to an area (in degrees) are inside it: ~0.1 mm, for rounding only.
BOUNDARY_TOLERANCE_DEG = 1e-9



@dataclass(frozen=True)
class Area:
    id: str
    name: str
    type: AreaType
    parent: str | None
    geometry: BaseGeometry

    def ref(self) -> AreaRef:
        return AreaRef(id=self.id, name=self.name, type=self.type)

    def describe(self) -> str:
        """How a reason names the area, e.g. "Kempston North neighbourhood"."""
        return f"{self.name} {self.type.value}"


class AreaIndex:
    """The areas of a force, indexed for point lookups. Parents must exist and form no cycle
    (the config loader checks, naming the file and key, before building this)."""

    def __init__(self, areas: Sequence[Area]) -> None:
        self._areas = {a.id: a for a in areas}
        self._order = list(areas)
        self._tree = STRtree([a.geometry for a in self._order])
        self._depth: dict[str, int] = {}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        for area in self._order:
            chain: list[str] = []
            parent = area.parent
            while parent is not None:
                chain.append(parent)
                parent = self._areas[parent].parent
            self._ancestors[area.id] = tuple(chain)
            self._depth[area.id] = len(chain)

    def __contains__(self, area_id: object) -> bool:
        return area_id in self._areas

    def __len__(self) -> int:
        return len(self._areas)

    def get(self, area_id: str) -> Area:
        return self._areas[area_id]

    def ids(self) -> list[str]:
        return list(self._areas)

    def depth(self, area_id: str) -> int:
        return self._depth[area_id]

    def ancestors(self, area_id: str) -> tuple[str, ...]:
        """Parent, grandparent, ... up to the force."""
        return self._ancestors[area_id]

    def within(self, area_id: str, other: str) -> bool:
        """True if ``area_id`` is ``other`` or nested (by parent) inside it."""
        return area_id == other or other in self._ancestors[area_id]

    def ordered(self, area_ids: Iterable[str]) -> tuple[str, ...]:
        """Outermost first, then by id: the one order every decision uses."""
        return tuple(sorted(set(area_ids), key=lambda i: (self._depth[i], i)))

    def locate(self, latitude: float, longitude: float) -> tuple[str, ...]:
        """Ids of the areas containing the point, boundaries included, in the standard order."""
        point = shapely.Point(longitude, latitude)
        hits = self._tree.query(point, predicate="dwithin", distance=BOUNDARY_TOLERANCE_DEG)
        return self.ordered(self._order[i].id for i in hits)

    def on_boundary(self, area_id: str, latitude: float, longitude: float) -> bool:
        geometry = self._areas[area_id].geometry
        return bool(geometry.boundary.distance(shapely.Point(longitude, latitude)) <= BOUNDARY_TOLERANCE_DEG)

    def with_ancestors(self, area_ids: Iterable[str]) -> tuple[str, ...]:
        found: set[str] = set()
        for area_id in area_ids:
            found.add(area_id)
            found.update(self._ancestors[area_id])
        return self.ordered(found)

    def inside_unrelated(self) -> list[tuple[str, str]]:
        """Pairs (inner, outer) where inner's shape lies inside outer's (boundary included) but
        outer is neither an ancestor nor a descendant of inner: a point there is placed in
        outer, a postcode mapped to inner is not (it follows ``parent``). One STRtree query for
        all the areas at once, so thousands of areas stay fast."""
        inner_idx, outer_idx = self._tree.query([a.geometry for a in self._order], predicate="covered_by")
        pairs = []
        for i, o in zip(inner_idx.tolist(), outer_idx.tolist(), strict=True):
            inner, outer = self._order[i].id, self._order[o].id
            if inner != outer and outer not in self._ancestors[inner] and inner not in self._ancestors[outer]:
                pairs.append((inner, outer))
        return sorted(pairs, key=lambda p: (self._depth[p[0]], p[0], self._depth[p[1]], p[1]))

    def innermost(self, area_ids: Sequence[str]) -> tuple[str, ...]:
        """The areas of the list that contain no other area of the list: the most precise."""
        chosen = set(area_ids)
        for area_id in area_ids:
            chosen.difference_update(self._ancestors[area_id])
        return self.ordered(chosen)


def normalise_postcode_key(key: str) -> str | None:
    """A sector ("MK42 8") or district ("MK42") key from postcodes.yaml in canonical form;
    None if it is neither. The space tells a sector from a district ("MK4 2" is not "MK42")."""
    parts = key.strip().upper().split()
    if len(parts) == 1 and re.fullmatch(OUTWARD, parts[0]):
        return parts[0]
    if len(parts) == 2 and re.fullmatch(OUTWARD, parts[0]) and re.fullmatch(r"[0-9]", parts[1]):
        return f"{parts[0]} {parts[1]}"
    return None
