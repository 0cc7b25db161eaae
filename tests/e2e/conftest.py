from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.providers import FakeSendGrid, FakeTwilio
from tests.harness import Stack, running_stack, service_env

FROM_NUMBER = "+447700900001"
FROM_EMAIL = "reports@police.example"
#: The address the intake believes the public reaches it at: Twilio signs requests for it.
PUBLIC_BASE_URL = "https://report.example"


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


def provider_env(twilio: FakeTwilio, sendgrid: FakeSendGrid) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-token",
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio.url,
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_FROM_EMAIL": FROM_EMAIL,
        "SENDGRID_API_HOST": sendgrid.url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    }


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, database_url: str, twilio: FakeTwilio, sendgrid: FakeSendGrid,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("service-logs")
    env = service_env(kafka=kafka_bootstrap, database_url=database_url, extra=provider_env(twilio, sendgrid))
    with running_stack(env, Path(logs)) as running:
        yield running


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On failure, attach the tail of each service's log to the report."""
    outcome: Any = yield
    report = outcome.get_result()
    stack_ = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack_, Stack):
        for name, service in stack_.services.items():
            report.sections.append((f"{name} log", service.log_tail()))
