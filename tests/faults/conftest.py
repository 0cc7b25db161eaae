"""Fault tests: the real services as processes against a real broker and database, with
processes killed and infrastructure taken away under them. Each prints a ``FAULT SUMMARY``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.faults import Summary
from harness.processes import stack_keys


@pytest.fixture(autouse=True, scope="module")
def _stack_keys() -> Iterator[None]:
    """What the services write is read (and addresses matched) here with their keys."""
    with stack_keys():
        yield


@pytest.fixture
def summary(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Iterator[Summary]:
    found = Summary(request.node.name)
    yield found
    with capsys.disabled():
        print("\n" + found.line())
