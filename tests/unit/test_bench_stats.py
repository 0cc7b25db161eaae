"""The benchmark's statistics: the figures in docs/benchmarks.md rest on them."""

from __future__ import annotations

import math

import pytest

from bench.stats import distribution, percentile, ratio


def test_percentile_interpolates_between_closest_ranks_like_numpy() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(values, 0) == 15.0
    assert percentile(values, 100) == 50.0
    assert percentile(values, 50) == 35.0
    assert percentile(values, 40) == pytest.approx(29.0)  # numpy.percentile(values, 40)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_ignores_input_order_and_handles_one_or_no_value() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_distribution_and_ratio() -> None:
    d = distribution([float(v) for v in range(1, 101)])
    assert d["count"] == 100 and d["max"] == 100.0
    assert d["p50"] == pytest.approx(50.5) and d["p95"] == pytest.approx(95.05)
    assert ratio(1.0, 4.0) == 0.25
    assert math.isnan(ratio(1.0, 0.0))
