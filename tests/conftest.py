"""Shared test set-up. The real-infrastructure fixtures (Kafka, PostgreSQL) live in
``infra.fixtures``; tests that use them are integration or end-to-end tests."""

from collections.abc import Iterator

import pytest

from tests.fakes.providers import FakeSendGrid, FakeTwilio

pytest_plugins = ["infra.fixtures"]


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    """A fake Twilio for the module's services (the real twilio client talks to it)."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def sendgrid() -> Iterator[FakeSendGrid]:
    """A fake SendGrid for the module's services (the real sendgrid client talks to it)."""
    with FakeSendGrid() as fake:
        yield fake
