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


def test_a_run_of_one_step_reports_the_other_steps_targets_as_not_measured_never_missed() -> None:
    from bench.pipeline import FULL, table, verdicts

    def run(p99: float, cpu: float) -> dict[str, object]:
        return {"rate_asked": 100, "seconds": 60, "accepted": 6000, "lost": 0,
                "latency_ms": {"p50": 150.0, "p95": 415.0, "p99": p99},
                "peak_rss_mb": {"router": 156.3, "feedback": 143.7, "intake": 130.0},
                "cpu_ms_per_report": {"router": cpu / 3, "feedback": cpu / 3, "intake": cpu / 3},
                "cpu_ms_per_report_total": cpu}

    e2e = {"runs": [run(310.0, 2.4), run(663.0, 2.2), run(420.0, 2.3)]}
    judged = verdicts({"end_to_end": e2e}, FULL)["targets"]
    assert judged["router >= 1,500 reports/s"]["met"] is None
    assert judged["5,000 areas >= 0.8 x 200 areas"]["met"] is None
    assert judged["idle < 1% of a core per service"]["met"] is None
    rss = judged["RSS < 200 MB per service"]
    assert (rss["value"], rss["met"]) == (156.3, True)  # the 5,000-area router was not run: not counted
    p99 = judged["e2e p99 < 500 ms in each run"]
    assert (p99["met"], p99["each_run"]) == (False, [310.0, 663.0, 420.0])  # one run of three missed it
    assert judged["e2e zero lost"]["met"] is True
    assert judged["e2e CPU per report <= 2.5 ms (router + feedback + intake)"]["met"] is True
    printed = table({"results": {"end_to_end": e2e}, "verdicts": verdicts({"end_to_end": e2e}, FULL)})
    assert "[MISS] e2e p99 < 500 ms in each run" in printed
    assert "end to end at 100/s for 60s, run 2" in printed and "run 3" in printed
    assert "[ -- ] router >= 1,500 reports/s: not measured in this run" in printed
    assert "[MISS] RSS" not in printed and "[MISS] router" not in printed


def test_two_full_runs_are_not_enough_for_the_latency_target() -> None:
    from bench.pipeline import FULL, verdicts

    run = {"rate_asked": 100, "seconds": 60, "accepted": 6000, "lost": 0, "latency_ms": {"p99": 300.0},
           "peak_rss_mb": {}, "cpu_ms_per_report_total": 3.0}
    judged = verdicts({"end_to_end": {"runs": [run, run]}, "idle": {"core_share": {"router": 0.002,
                                                                                  "feedback": 0.03}}}, FULL)["targets"]
    assert judged["e2e p99 < 500 ms in each run"]["note"].startswith("quick run: 2 run(s)")
    assert judged["e2e CPU per report <= 2.5 ms (router + feedback + intake)"]["met"] is False
    assert judged["idle < 1% of a core per service"]["met"] is False  # the feedback worker's 3%
