"""Shared test set-up. The real-infrastructure fixtures (Kafka, PostgreSQL) live in
``tests/fixtures.py``; tests that use them are integration or end-to-end tests. What tests share
with the benchmarks and load runs (processes, ports, fake providers) is the ``harness`` package."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.providers import FakeSendGrid, FakeTwilio
from services.store import crypto

pytest_plugins = ["tests.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
DATA_FOLDERS = pytest.StashKey[set[str]]()


def data_folders() -> set[str]:
    """faust's data folders (``<app id>-data``) in the checkout's root."""
    return {p.name for p in ROOT.glob("*-data") if p.is_dir()}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.stash[DATA_FOLDERS] = data_folders()


@pytest.fixture(autouse=True)
def _keys_kept_to_each_test() -> Iterator[None]:
    """A test may configure other store keys (an app it builds, a rotation, a command it runs):
    the next test, and any module fixture set up before it, starts from the keys there were."""
    before = crypto.configured()
    yield
    crypto.configure(before[0])
    crypto.configure_digests(before[1])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run writes nothing in the checkout's root: workers keep their data in a temporary folder."""
    left = sorted(data_folders() - session.stash.get(DATA_FOLDERS, set()))
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"FAILED: the run left data folders in {ROOT}: {', '.join(left)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Name the order the tests ran in, even under ``-q``: ``-p randomly --randomly-seed=N`` repeats it."""
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and isinstance(seed, int):
        terminalreporter.write_line(
            f"Test order shuffled by pytest-randomly: repeat it with -p randomly --randomly-seed={seed}")


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
