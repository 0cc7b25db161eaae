from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.processes import Stack, provider_env, running_stack, service_env, stack_keys
from harness.providers import FakeSendGrid, FakeTwilio


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, database_url: str, twilio: FakeTwilio, sendgrid: FakeSendGrid,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("service-logs")
    env = service_env(kafka=kafka_bootstrap, database_url=database_url, extra=provider_env(twilio, sendgrid))
    with running_stack(env, Path(logs)) as running:
        yield running


@pytest.fixture(autouse=True, scope="module")
def _stack_keys() -> Iterator[None]:
    """What the stack writes is read (and addresses matched) here with the stack's keys."""
    with stack_keys():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On failure, attach the tail of each service's log to the report."""
    outcome: Any = yield
    report = outcome.get_result()
    stack_ = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack_, Stack):
        for name, service in stack_.services.items():
            report.sections.append((f"{name} log", service.log_tail()))
