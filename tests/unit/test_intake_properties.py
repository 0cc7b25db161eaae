"""Property-based tests of the intake's schemas: whatever JSON arrives, the intake answers 202 or
a clear 4xx naming fields, never a server error, and never echoes a value back."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import Outcome
from services.intake import reports
from services.intake.app import create_app
from services.intake.reports import ActionRequest, PublicReportRequest, ThirdPartyReportRequest
from services.intake.settings import IntakeSettings
from services.store.db import migrate
from tests.fakes.intake import RecordingPublisher
from tests.unit.test_intake_api import REPORT

_DB = Path(tempfile.mkdtemp(prefix="mecc-props-")) / "store.db"
migrate(f"sqlite:///{_DB}")
client = TestClient(create_app(IntakeSettings(database_url=f"sqlite:///{_DB}", rate_limit_per_minute=0),
                               publisher=RecordingPublisher()))

SECRET = "Qx7secretvalue"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
    | st.just(SECRET),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from([*REPORT, "informant.phone", "informant.email", "location.latitude",
                              "location.postcode", "happened_at", "extra"]),
       value=json_values)
def test_any_value_in_any_field_gets_202_or_a_422_naming_it(field: str, value: object) -> None:
    body: dict[str, object] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in REPORT.items()}
    if "." in field:
        outer, inner = field.split(".")
        nested = dict(body.get(outer) or {})  # type: ignore[call-overload]
        nested[inner] = value
        body[outer] = nested
    else:
        body[field] = value
    response = client.post("/v1/reports", json=body)
    assert response.status_code in (202, 422), response.text
    if response.status_code == 422:
        assert response.json()["fields"]
        assert SECRET not in response.text


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(min_size=1, max_size=2000))
def test_any_description_is_accepted_as_text_or_refused_cleanly(text: str) -> None:
    response = client.post("/v1/reports", json={**REPORT, "description": text})
    assert response.status_code in (202, 422), response.text


# ---- what a request model lets through, its event accepts ------------------------------------------

_action_fields = st.fixed_dictionaries({
    "public_text": st.sampled_from(["Patrols on Bedford Road", " ", "x" * 5000]),
}, optional={
    "kind": st.sampled_from(["action", "closure"]),
    "outcome": st.none() | st.sampled_from([o.value for o in Outcome]),
    "outcome_reason": st.none() | st.sampled_from(["", "   ", "No vehicles over the limit", "r" * 1000]),
})


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=_action_fields)
def test_an_action_the_request_accepts_becomes_an_event_and_one_it_refuses_names_a_field(body: dict[str, object]
                                                                                        ) -> None:
    try:
        request = ActionRequest.model_validate(body)
    except ValidationError as exc:
        # Refused: every error names a field of the request (the 422 says which).
        assert all(err["loc"] for err in exc.errors()), exc.errors()
        return
    # Accepted: the event it becomes accepts it too (else the client would get a 500).
    reports.case_update("MECC-0000-0000", request, "kempston-npt", "Kempston neighbourhood team", None, at=NOW)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(happened_at=st.none() | st.datetimes(timezones=st.none() | st.just(UTC)))
def test_a_report_the_request_accepts_becomes_an_event(happened_at: datetime | None) -> None:
    body = {**REPORT, "happened_at": None if happened_at is None else happened_at.isoformat()}
    try:
        public = PublicReportRequest.model_validate(body)
    except ValidationError:
        return
    reports.public_contact(public, None, at=NOW)
    third = ThirdPartyReportRequest.model_validate({**{k: v for k, v in body.items() if k != "informant"},
                                                    "reporter": {"email": "worker@example.org"}})
    reports.third_party_contact(third, "stop-hate-beds", None, at=NOW)
