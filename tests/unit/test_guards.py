"""The intake's guards: body size whatever the framing, rate limits per address and per key,
and markup kept as text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.intake.app import create_app
from services.intake.ratelimit import TokenBucket
from services.intake.settings import IntakeSettings
from services.store.db import migrate
from tests.fakes.intake import RecordingPublisher
from tests.unit.test_intake_api import REPORT


def client_for(tmp_path, **settings: object) -> TestClient:
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    app = create_app(IntakeSettings(database_url=url, **settings), publisher=RecordingPublisher())
    return TestClient(app)


@pytest.fixture
def api(tmp_path) -> Iterator[TestClient]:
    with client_for(tmp_path, rate_limit_per_minute=60, rate_limit_burst=3) as client:
        yield client


def test_the_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(per_minute=60, burst=2, clock=lambda: now[0])
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    assert bucket.take("a") == pytest.approx(1.0)
    assert bucket.take("b") == 0  # another client has its own bucket
    now[0] = 1.0
    assert bucket.take("a") == 0


def test_an_address_over_its_limit_gets_429_with_retry_after(api: TestClient) -> None:
    codes = [api.post("/v1/reports", json=REPORT).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    refused = api.post("/v1/reports", json=REPORT)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert api.get("/healthz").status_code == 200  # reads are not limited


def test_reads_have_their_own_looser_limit_per_address(tmp_path) -> None:
    with client_for(tmp_path, rate_limit_reads_per_minute=60, rate_limit_reads_burst=3) as api:
        codes = [api.get("/dashboard").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert int(api.get("/dashboard").headers["Retry-After"]) >= 1
        assert api.get("/healthz").status_code == 200  # health is never limited


def test_an_api_key_has_its_own_limit(tmp_path) -> None:
    with client_for(tmp_path, rate_limit_per_minute=1000, rate_limit_burst=100,
                    rate_limit_key_per_minute=60, rate_limit_key_burst=2) as api:
        headers = {"X-API-Key": "dev-org-stop-hate"}
        codes = [api.post("/v1/third-party/reports", json={}, headers=headers).status_code for _ in range(3)]
        assert codes[:2] == [422, 422] and codes[2] == 429


def test_a_chunked_body_over_the_limit_is_refused(tmp_path) -> None:
    with client_for(tmp_path, max_body_bytes=1024) as api:
        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 200

        r = api.post("/v1/reports", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        small = api.post("/v1/reports", content=iter([b'{"category": "speeding"}']),
                         headers={"content-type": "application/json"})
        assert small.status_code == 422  # read, passed on, and judged on its content


def test_a_content_length_over_the_limit_is_refused(api: TestClient) -> None:
    r = api.post("/v1/reports", content=b"x" * (64 * 1024 + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"location": {"latitude": 48.0, "longitude": -2.0}}, "location.latitude"),
        ({"location": {"latitude": 40.7, "longitude": -74.0}}, "location.latitude"),
        ({"happened_at": "2999-01-01T00:00:00Z"}, ""),
        ({"happened_at": "2024-02-30T10:00:00Z"}, "happened_at"),
        ({"informant": {"phone": "12345"}}, "informant.phone"),
        ({"informant": {"email": "not-an-email"}}, "informant.email"),
    ],
)
def test_bad_input_gets_a_clear_4xx_naming_the_field(api: TestClient, change: dict[str, object], field: str) -> None:
    r = api.post("/v1/reports", json={**REPORT, **change})
    assert r.status_code == 422
    assert any(f["field"].startswith(field) for f in r.json()["fields"])


def test_markup_is_kept_as_text(api: TestClient) -> None:
    text = "<script>alert('x')</script> cars racing"
    assert api.post("/v1/reports", json={**REPORT, "description": text}).status_code == 202
    recorded = api.app.state.context.publisher.events[-1][2]  # type: ignore[attr-defined]
    assert recorded.report.description == text  # stored as given; escaped wherever shown


def test_the_intake_counts_what_it_accepts_and_refuses_on_metrics(api: TestClient) -> None:
    from services.common.metrics import parse, total

    before = parse(api.get("/metrics").text)
    assert api.post("/v1/reports", json=REPORT).status_code == 202
    after = parse(api.get("/metrics").text)
    assert total(after, "mecc_reports_received_total", kind="public") == \
        total(before, "mecc_reports_received_total", kind="public") + 1
