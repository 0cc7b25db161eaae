"""``make run`` (``python -m infra.run``), in the background, stops cleanly when told to: a
supervisor's or ``kill``'s SIGTERM stops the services, the outbox follower and the broker it
started, and the command itself exits 0 (make: as killed by the signal),
leaving no process, no open broker port and no broker pid file or held log-directory lock behind.

It runs on its own ports and in its own state directory, so it collides with neither a developer's
``make run`` (19092, 8000) nor the other tests' broker.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.processes import free_port, wait_until
from infra.ports import free_port_pair, port_open

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parents[int(entry.name)] = int(ppid)
    return parents


def _descendants(root: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        children = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= children
        frontier = children
    return found


def _lock_held(lock_file: Path) -> bool:
    """Whether a process (the broker) still holds the lock Kafka takes on its log directory."""
    if not lock_file.exists():
        return False
    with lock_file.open("r+") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(f, fcntl.LOCK_UN)
        return False


@pytest.fixture
def run_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update({
        "KAFKA_PORT": str(free_port_pair()),
        "KAFKA_HOME_DIR": str(tmp_path / "kafka"),
        "INTAKE_PORT": str(free_port()),
        "OIDC_PORT": str(free_port()),
        "OIDC_HOME_DIR": str(tmp_path / "oidc"),
        "ROUTER_WEB_PORT": str(free_port()),
        "FEEDBACK_WEB_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "OUTBOX_PATH": str(tmp_path / "outbox.jsonl"),
        "RUN_LOGS_DIR": str(tmp_path / "logs"),
        "LOG_JSON": "true",
    })
    yield env


#: ``make run`` as a user types it (with this test's virtualenv), and the command it runs: make passes a
#: SIGTERM on to its recipe's process, infra.run, then ends as killed by it.
COMMANDS = {
    "make-run": ["make", "--no-print-directory", "run", f"VENV={Path(sys.executable).parent.parent}"],
    "infra-run": [sys.executable, "-m", "infra.run"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_run_exits_cleanly_on_sigterm(run_env: dict[str, str], tmp_path: Path, command: str) -> None:
    from infra import kafka

    kafka_port = int(run_env["KAFKA_PORT"])
    broker = kafka.Broker(home=Path(run_env["KAFKA_HOME_DIR"]), port=kafka_port, controller_port=kafka_port + 1,
                          version=run_env.get("KAFKA_VERSION", "").strip() or kafka.DEFAULT_VERSION)
    output = tmp_path / "run.out"
    with output.open("wb") as out:
        run = subprocess.Popen(COMMANDS[command], cwd=ROOT, env=run_env,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started: set[int] = set()
    try:
        def intake_answers() -> bool:
            if run.poll() is not None:
                pytest.fail(f"infra.run exited early ({run.returncode}):\n{output.read_text()[-3000:]}")
            try:
                return httpx.get(f"http://127.0.0.1:{run_env['INTAKE_PORT']}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(intake_answers, timeout=240, what="the intake started by infra.run to answer /healthz")
        started = _descendants(run.pid)
        broker_pid = kafka.running_pid(broker)
        assert broker_pid in started, "the broker should be one of the processes infra.run started"
        assert len(started) >= 5, "broker, router, feedback, intake and the outbox follower"

        run.send_signal(signal.SIGTERM)  # to make, or to infra.run: never to the process group
        try:
            code = run.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command} did not exit within 15 s of SIGTERM:\n{output.read_text()[-3000:]}")

        # make ends as killed by the signal (its way); infra.run exits 0
        assert code == (-signal.SIGTERM if command == "make-run" else 0), output.read_text()[-3000:]
        wait_until(lambda: not started & set(_parents()), 20, "every process it started to stop")
        left = started & set(_parents())
        assert not left, f"processes infra.run started are still running: {sorted(left)}"
        with pytest.raises(ProcessLookupError):
            os.killpg(run.pid, 0)  # nothing left in its process group either
        assert not port_open(kafka_port), "the broker's port is still open"
        assert not port_open(int(run_env["OIDC_PORT"])), "the OpenID provider's port is still open"
        assert not broker.pid_file.exists(), "the broker's pid file was left behind"
        assert not _lock_held(broker.data / ".lock"), "the broker's log directory is still locked"
        assert "Stopped." in output.read_text()
    finally:
        if run.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        for pid in started & set(_parents()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
