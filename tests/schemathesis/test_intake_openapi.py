"""schemathesis against the intake's own OpenAPI document, in process, with the Kafka publisher
replaced by a recorder: whatever it generates, the intake answers without a server error (no 5xx)
and as its document says.

It runs once per role, each with a valid key, so that fuzzing reaches the handlers instead of
stopping at 401: the public (no key), an organisation, a team and a watch. The store holds a
report routed to that team and watch, in a cluster, and the team's and watch's actions are aimed
at it; reports use a real category: so that bodies reach the event they become. A bounded number of examples per
operation and a derandomized search keep it quick and reproducible."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import allow_header_conformance, not_a_server_error, positive_data_acceptance

from schemas import Informant, Location, PublicContact, ReportDetails
from schemas.events import new_reference
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.router.config import load_routing_config
from services.router.routing import routed_item, watch_items
from services.store import routing as routing_store
from services.store.db import make_engine, make_sessions, migrate
from tests.fakes.intake import RecordingPublisher
from tests.fakes.store import record_routing, record_watch_items

#: The role's key, as the API takes it (the public has none).
ORGANISATION, TEAM, WATCH = "dev-org-stop-hate", "dev-team-kempston", "dev-watch-kempston-speed"
WATCH_ID = "kempston-speed-watch"  # the watch that key is for (config/access.yaml)

_DB = Path(tempfile.mkdtemp(prefix="mecc-schemathesis-")) / "store.db"
_URL = f"sqlite:///{_DB}"
migrate(_URL)


def _seed() -> tuple[str, str]:
    """A speeding report near Bedford Road routed as the router would (to the Kempston team and
    its speed watch), in a cluster of its own: (reference, cluster id)."""
    config = load_routing_config()
    contact = PublicContact(
        reference=new_reference(),
        report=ReportDetails(category="speeding", description="Cars racing on Bedford Road every night",
                             location=Location(latitude=52.125, longitude=-0.495, description="Bedford Road")),
        informant=Informant(phone="07700 900123", email="jo@example.org"),
    )
    item = routed_item(contact, config)
    sessions = make_sessions(make_engine(_URL))
    with sessions() as s:
        record_routing(s, item)
    with sessions() as s:
        record_watch_items(s, watch_items(item, config))
    cluster_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "mecc:schemathesis:cluster"))
    first = datetime(2026, 11, 3, 21, 0, tzinfo=UTC)
    with sessions() as s, s.begin():
        routing_store.add_clusters(s, [routing_store.NewCluster(cluster_id, "speeding", "Bedford Road", first)], [
            routing_store.MemberRow(cluster_id, contact.reference, "speeding", 52.125, -0.495, None, first)])
    return contact.reference, cluster_id


REFERENCE, CLUSTER = _seed()
app = create_app(IntakeSettings(database_url=_URL, rate_limit_per_minute=0), publisher=RecordingPublisher())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


def _as(role_key: str | None) -> Callable[[schemathesis.Case], None]:
    """The property for one role: every operation, with that role's key where the API takes one."""

    @schema.parametrize()
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        if isinstance(case.body, dict) and not negative:
            # The categories come from config/routing, not from the document: a valid body gets a
            # real one, so that it reaches the event it becomes. (Negative bodies keep theirs:
            # pydantic's lax reading, false as 0.0 or a number as a date, is not what this is about.)
            for name in ("category", "service_code"):
                if isinstance(case.body.get(name), str):
                    case.body = {**case.body, name: "speeding"}
        if role_key is not None:
            case.headers["X-API-Key"] = role_key
            if case.path.startswith("/open311/"):  # Open311 takes it as a parameter
                case.query = {**(case.query or {}), "api_key": role_key}
                if isinstance(case.body, dict):
                    case.body = {**case.body, "api_key": role_key}
            if case.path_parameters and role_key in (TEAM, WATCH):
                # Aimed at a report routed to this team and watch, so the body reaches the event.
                if "reference" in case.path_parameters:
                    case.path_parameters["reference"] = REFERENCE
                if "cluster_id" in case.path_parameters:
                    case.path_parameters["cluster_id"] = CLUSTER
                if "watch_id" in case.path_parameters and role_key == WATCH and not negative:
                    # (Negative reads add unknown query parameters, which the API rightly ignores.)
                    case.path_parameters["watch_id"] = WATCH_ID
        # The allowed categories come from config/routing, not from the static document, so a
        # schema-valid category may rightly get 422 naming the allowed ones. OPTIONS and its Allow
        # header are the framework's, not ours. No answer may be a server error, for any role.
        case.call_and_validate(additional_checks=[not_a_server_error],
                               excluded_checks=[positive_data_acceptance, allow_header_conformance])

    return fuzz


test_the_public_gets_no_server_error = _as(None)
test_an_organisation_gets_no_server_error = _as(ORGANISATION)
test_a_team_gets_no_server_error = _as(TEAM)
test_a_watch_gets_no_server_error = _as(WATCH)
