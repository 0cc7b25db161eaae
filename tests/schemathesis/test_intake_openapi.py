"""schemathesis against the intake's own OpenAPI document, in process, with the Kafka publisher
replaced by a recorder: whatever it generates, the intake answers without a server error and
as its document says. A bounded number of examples per operation keeps it quick."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import allow_header_conformance, positive_data_acceptance

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.store.db import migrate
from tests.fakes.intake import RecordingPublisher

_DB = Path(tempfile.mkdtemp(prefix="mecc-schemathesis-")) / "store.db"
migrate(f"sqlite:///{_DB}")
app = create_app(IntakeSettings(database_url=f"sqlite:///{_DB}", rate_limit_per_minute=0),
                 publisher=RecordingPublisher())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_intake_keeps_its_openapi_promises(case: schemathesis.Case) -> None:
    # The allowed categories come from config/routing, not from the static document, so a
    # schema-valid category may rightly get 422 naming the allowed ones. OPTIONS and its Allow
    # header are the framework's, not ours.
    case.call_and_validate(excluded_checks=[positive_data_acceptance, allow_header_conformance])
