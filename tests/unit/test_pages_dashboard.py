"""The confidence dashboard's numbers, from rows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake.pages_dashboard import UNKNOWN_AREA, bar_chart, build

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def report(ref: str, at: datetime, area: str = "Kempston North", contactable: bool = True) -> dict:
    return {"reference": ref, "kind": "public", "category": "speeding", "received_at": at, "status": "open",
            "location": {"area": area}, "contactable": contactable}


def message(ref: str, trigger: str, at: datetime, status: str = "sent") -> dict:
    return {"reference": ref, "trigger": trigger, "role": "informant", "status": status, "created_at": at,
            "updated_at": at}


def test_shares_medians_outcomes_and_answers_per_area_and_month():
    rows = {
        "reports": [report("A", T0), report("B", T0 + timedelta(days=1)), report("C", T0, contactable=False),
                    report("D", T0 + timedelta(days=31)), report("E", T0, area="")],
        "actions": [
            {"reference": "A", "kind": "action", "actor_id": "t", "public_text": "Patrolled <Bedford Road>",
             "outcome": None, "outcome_reason": None, "recorded_at": T0 + timedelta(hours=2)},
            {"reference": "A", "kind": "closure", "actor_id": "t", "public_text": "Done", "outcome": "resolved",
             "outcome_reason": None, "recorded_at": T0 + timedelta(hours=5)},
            {"reference": "B", "kind": "action", "actor_id": "t", "public_text": "Checked", "outcome": None,
             "outcome_reason": None, "recorded_at": T0 + timedelta(days=1, hours=4)},
        ],
        "messages": [
            message("A", "ack", T0 + timedelta(minutes=1)), message("A", "action:x", T0 + timedelta(hours=2)),
            message("B", "ack", T0 + timedelta(days=1, minutes=3)),
            message("B", "action:y", T0 + timedelta(days=1, hours=4), status="suppressed"),
        ],
        "answers": [{"reference": "A", "question": "satisfaction", "answer": "4"},
                    {"reference": "A", "question": "kept_informed", "answer": "Y"},
                    {"reference": "B", "question": "kept_informed", "answer": "N"}],
    }
    view = build(rows, lambda loc: loc.get("area") or UNKNOWN_AREA, lambda c: "Speeding")
    assert [a.area for a in view.areas] == ["Kempston North", UNKNOWN_AREA]
    october, november = view.areas[0].rows
    assert (october.month, october.received, october.contactable) == ("2026-10", 3, 2)
    assert october.ack_share == 1.0 and october.we_did_share == 0.5  # B's update was suppressed
    assert october.median_ack_minutes == 2.0 and october.median_action_hours == 3.0
    assert dict(october.outcomes) == {"Resolved": 1}
    assert october.mean_satisfaction == 4 and october.informed_share == 0.5
    assert (november.month, november.received, november.ack_share) == ("2026-11", 1, 0.0)
    summary = view.areas[0].summary
    assert summary.you_said == ("Speeding (4 reports)",) and "Patrolled <Bedford Road>" in summary.we_did
    assert view.total_received == 5


def test_the_chart_is_inline_svg_with_a_text_alternative_and_escaped_labels():
    rows = build({"reports": [report("A", T0, area="<b>")]}, lambda loc: loc["area"]).areas[0].rows
    svg = str(bar_chart("<b>", rows))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>" in svg
    assert "&lt;b&gt;" in svg and "<b>" not in svg
