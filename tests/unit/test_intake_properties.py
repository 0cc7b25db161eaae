"""Property-based tests of the intake's schemas: whatever JSON arrives, the intake answers 202 or
a clear 4xx naming fields, never a server error, and never echoes a value back."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.store.db import migrate
from tests.fakes.intake import RecordingPublisher
from tests.unit.test_intake_api import REPORT

_DB = Path(tempfile.mkdtemp(prefix="mecc-props-")) / "store.db"
migrate(f"sqlite:///{_DB}")
client = TestClient(create_app(IntakeSettings(database_url=f"sqlite:///{_DB}", rate_limit_per_minute=0),
                               publisher=RecordingPublisher()))

SECRET = "Qx7secretvalue"
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
