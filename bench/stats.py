"""Small, dependency-free statistics for the benchmarks: percentiles and rates."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by linear interpolation between the
    closest ranks (numpy's default method); NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def distribution(values: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """``{"count", "p50", "p95", "p99", "max"}`` of ``values`` (or the percentiles in ``qs``)."""
    out: dict[str, float] = {"count": len(values)}
    for q in qs:
        out[f"p{q:g}"] = percentile(values, q)
    out["max"] = max(values) if values else math.nan
    return out


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is not a positive number."""
    if not denominator or math.isnan(denominator) or denominator < 0:
        return math.nan
    return numerator / denominator
