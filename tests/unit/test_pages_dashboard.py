"""The confidence dashboard's numbers, from rows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake.pages_dashboard import UNKNOWN_AREA, bar_chart, build

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def report(ref: str, at: datetime, area: str = "Kempston North", contactable: bool = True) -> dict:
    return {"reference": ref, "kind": "public", "category": "speeding", "received_at": at, "status": "open",
            "area": area, "contactable": contactable}


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
    view = build(rows, category_label=lambda c: "Speeding")
    assert [a.area for a in view.areas] == ["Kempston North", UNKNOWN_AREA]
    october, november = view.areas[0].rows
    assert (october.month, october.received, october.contactable) == ("2026-10", 3, 2)
    assert october.ack_share == 1.0 and october.we_did_share == 0.5  # B's update was suppressed
    assert october.median_ack_minutes == 2.0 and october.median_action_hours == 3.0
    assert dict(october.outcomes) == {"Resolved": 1}
    assert october.mean_satisfaction == 4 and october.informed_share == 0.5
    assert (november.month, november.received, november.ack_share) == ("2026-11", 1, 0.0)
    summary = view.areas[0].summary
    assert summary.you_said == ("Speeding (fewer than 5 reports)",)
    # What teams wrote to informants is never on the public page.
    assert "Patrolled" not in repr(view) and not hasattr(summary, "we_did")
    assert view.total_received == 5 and view.total_shown == "5"
    assert build(rows, category_label=lambda c: "Speeding", min_count=1).areas[0].summary.you_said == (
        "Speeding (4 reports)",)


def test_the_chart_is_inline_svg_with_a_text_alternative_and_escaped_labels():
    rows = build({"reports": [report("A", T0, area="<b>")]}, lambda loc: loc["area"]).areas[0].rows
    svg = str(bar_chart("<b>", rows))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>" in svg
    assert "&lt;b&gt;" in svg and "<b>" not in svg


def message_at(ref: str, trigger: str, queued: datetime, went: datetime, status: str, channel: str = "sms") -> dict:
    return {"reference": ref, "trigger": trigger, "role": "informant", "status": status, "channel": channel,
            "created_at": queued, "updated_at": went}


def test_a_scheduled_acknowledgement_is_not_yet_an_acknowledgement_and_is_shown_as_waiting():
    night = T0.replace(hour=22)
    rows = {"reports": [report("A", night), report("B", night)],
            "messages": [message_at("A", "ack", night, night, "scheduled"),
                         message_at("A", "ack", night, night, "standby", channel="email"),
                         message_at("B", "action:x", night, night, "scheduled")]}
    (row,) = build(rows, lambda loc: loc["area"]).areas[0].rows
    assert (row.acknowledged, row.ack_share, row.ack_waiting) == (0, 0.0, 1)
    assert row.median_ack_minutes is None and row.we_did_share == 0.0


def test_time_to_acknowledgement_runs_to_when_it_was_sent_not_when_it_was_queued():
    night = T0.replace(hour=22)
    morning = night + timedelta(hours=10)
    rows = {"reports": [report("A", night)],
            "messages": [message_at("A", "ack", night, morning, "sent")]}
    (row,) = build(rows, lambda loc: loc["area"]).areas[0].rows
    assert (row.acknowledged, row.ack_waiting, row.median_ack_minutes) == (1, 0, 600.0)


def test_only_messages_that_went_count_and_a_replacement_on_the_other_channel_does():
    rows = {"reports": [report(r, T0) for r in "ABCDE"],
            "messages": [message_at("A", "ack", T0, T0 + timedelta(minutes=1), "failed"),
                         message_at("A", "ack", T0, T0 + timedelta(minutes=2), "sent", channel="email"),
                         message_at("B", "ack", T0, T0 + timedelta(minutes=1), "undelivered"),
                         message_at("C", "ack", T0, T0, "unconfirmed"),
                         message_at("D", "ack", T0, T0, "suppressed", channel="none"),
                         message_at("E", "ack", T0, T0 + timedelta(minutes=4), "delivered")]}
    (row,) = build(rows, lambda loc: loc["area"]).areas[0].rows
    assert (row.acknowledged, row.ack_waiting, row.ack_share) == (2, 0, 0.4)
    assert row.median_ack_minutes == 3.0  # of 2 and 4 minutes


def test_small_counts_read_fewer_than_the_threshold_and_nothing_is_worked_out_from_fewer():
    four = {"reports": [report(r, T0) for r in "ABCD"],
            "messages": [message(r, "ack", T0 + timedelta(minutes=2)) for r in "ABCD"],
            "answers": [{"reference": r, "question": "satisfaction", "answer": "2"} for r in "ABCD"]}
    (row,) = build(four).areas[0].rows
    assert (row.received_shown, row.ack_shown, row.median_ack_shown, row.satisfaction_shown) == (
        "fewer than 5", "-", "-", "-")
    assert build(four).total_shown == "fewer than 5"
    (row,) = build(four, min_count=4).areas[0].rows
    assert (row.received_shown, row.ack_shown, row.median_ack_shown, row.satisfaction_shown) == (
        "4", "100%", "2 min", "2.0")
