"""The intake's publisher against a real broker: 202 only once Kafka has the event, 503 when
it cannot have it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from harness.processes import free_port
from schemas import PublicContact
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.integration.conftest import read_until

pytestmark = pytest.mark.integration

REPORT = {"category": "drugs", "description": "Dealing from a car outside the shop",
          "location": {"postcode": "MK42 8AA"}, "informant": {"email": "someone@example.org"}}


def test_accepted_report_is_on_the_contacts_topic(kafka_bootstrap: str, database_url: str) -> None:
    app = create_app(IntakeSettings(kafka_bootstrap_servers=kafka_bootstrap, database_url=database_url))
    with TestClient(app) as http:
        assert http.get("/readyz").status_code == 200
        r = http.post("/v1/reports", json=REPORT)
    assert r.status_code == 202
    ref = r.json()["reference"]
    (raw,) = read_until(kafka_bootstrap, "contacts.public", lambda v: ref.encode() in v)
    event = PublicContact.model_validate_json(raw)
    assert event.report.description == REPORT["description"]
    assert event.informant is not None and event.informant.email == "someone@example.org"


def test_no_broker_means_503_not_a_lost_report(database_url: str) -> None:
    dead = f"127.0.0.1:{free_port()}"
    app = create_app(IntakeSettings(kafka_bootstrap_servers=dead, database_url=database_url,
                                    publish_timeout_seconds=2))
    with TestClient(app) as http:
        r = http.post("/v1/reports", json=REPORT)
        assert r.status_code == 503
        assert "nothing was recorded" in r.json()["error"]
        assert http.get("/readyz").status_code == 503
