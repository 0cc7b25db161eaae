"""Running the services as real processes (``python -m services.<name>``, their composition
roots) for integration, end-to-end, fault and load runs and the benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.kafka import FEEDBACK_TOPICS, ROUTER_TOPICS, start_group_at_end
from harness.providers import FakeSendGrid, FakeTwilio
from infra.ports import free_port, port_open
from services.common.kafka_security import KafkaSecurity

__all__ = ["ROOT", "Service", "Stack", "free_port", "port_open", "provider_env", "provider_settings", "running_stack",
           "service_env", "wait_until"]

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def served_in_thread(app: Any, port: int, *, start_within: float = 20.0) -> Iterator[None]:
    """``app`` served by uvicorn on ``127.0.0.1:port`` in a thread of this process (a real server and
    sockets, with the app's lifespan), until the block ends."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                         log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, start_within, "the server to start", interval=0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Service:
    """One service process: ``python -m services.<name>`` with the given environment."""

    name: str
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, timeout: float = 60.0) -> Service:
        log = self.log_path.open("ab")
        # faust's data folder beside the log (a restart finds its own again), never in the checkout
        datadir = {f"{self.name.upper()}_DATADIR": str(self.log_path.parent / f"{self.log_path.stem}-faust")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT, env={**os.environ, **datadir, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: self._alive() and port_open(self.port), timeout, f"{self.name} to listen")
        return self

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
        return True

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stack:
    intake_url: str
    services: dict[str, Service]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.intake_url, timeout=30)


def service_env(*, kafka: str, database_url: str, extra: dict[str, str] | None = None,
                security: KafkaSecurity | None = None) -> dict[str, str]:
    """Environment shared by the services of one test stack: its own consumer groups, which start
    at the current end of their topics (the workers see what is published from now on, never
    what earlier tests or runs left on the broker). ``security``: how the services (and the
    positioning of their groups here) reach a SASL_SSL broker; a test may then give each service
    its own user (``KAFKA_SASL_USERNAME``/``KAFKA_SASL_PASSWORD``)."""
    run = uuid.uuid4().hex[:8]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database_url,
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
        "ROUTER_APP_ID": f"test-router-{run}",
        "FEEDBACK_APP_ID": f"test-feedback-{run}",
        # Tests run at any hour: no SMS quiet hours (equal start and end), and quick retries.
        "SMS_QUIET_START": "00:00",
        "SMS_QUIET_END": "00:00",
        "RETRY_BASE_SECONDS": "0.2",
        "DUE_CHECK_SECONDS": "0.2",
        # The public dashboard's figures, refreshed by the router, within a second or two.
        "DASHBOARD_REFRESH_SECONDS": "1",
        # A killed worker's partitions move to its replacement after this long.
        "KAFKA_SESSION_TIMEOUT_SECONDS": "6",
        # Test stacks call themselves PUBLIC_BASE_URL=https://report.example, so they need real secrets.
        "UNSUBSCRIBE_SECRET": "test-unsubscribe-secret",
        "TRACK_SECRET": "test-track-secret",
        "SESSION_SECRET": "test-session-secret",
        # ... and they sign in with the published development keys all the same.
        "ALLOW_DEVELOPMENT_KEYS": "true",
        **(security.env() if security is not None else {}),
        # ...and real store keys (not the development ones in the source).
        "STORE_ENCRYPTION_KEY": TEST_STORE_KEY,
        "ADDRESS_DIGEST_KEY": TEST_DIGEST_KEY,
        **(extra or {}),
    }
    start_group_at_end(kafka, env["ROUTER_APP_ID"], ROUTER_TOPICS, security)
    start_group_at_end(kafka, env["FEEDBACK_APP_ID"], FEEDBACK_TOPICS, security)
    return env


@contextmanager
def running_stack(env: dict[str, str], log_dir: Path, names: tuple[str, ...] = ("router", "feedback", "intake"),
                  ) -> Iterator[Stack]:
    ports = {"intake": ("INTAKE_PORT", free_port()), "router": ("ROUTER_WEB_PORT", free_port()),
             "feedback": ("FEEDBACK_WEB_PORT", free_port())}
    services: dict[str, Service] = {}
    try:
        for name in names:
            var, port = ports[name]
            services[name] = Service(name, {**env, var: str(port)}, port, log_dir / f"{name}.log").start()
        yield Stack(f"http://127.0.0.1:{ports['intake'][1]}", services)
    finally:
        for service in services.values():
            service.stop()


FROM_NUMBER = "+447700900001"
FROM_EMAIL = "reports@police.example"
#: The address the intake believes the public reaches it at: Twilio signs requests for it.
PUBLIC_BASE_URL = "https://report.example"
#: The test stacks' store encryption and address digest keys (not the development ones): a test
#: that reads or matches what a stack wrote uses them too (``stack_keys``).
TEST_STORE_KEY = "dGVzdC1zdG9yZS1rZXktMzItYnl0ZXMtbG9uZy0hISE="
TEST_DIGEST_KEY = "test-address-digest-key-not-the-development-one"


@contextmanager
def stack_keys() -> Iterator[None]:
    """This process reads and digests with the test stacks' keys, meanwhile."""
    from services.store import crypto

    before = crypto.configured()
    crypto.configure(TEST_STORE_KEY)
    crypto.configure_digests(TEST_DIGEST_KEY)
    try:
        yield
    finally:
        crypto.configure(before[0])
        crypto.configure_digests(before[1])


def provider_settings(twilio_url: str, sendgrid_url: str) -> dict[str, str]:
    """Point the services' real twilio and sendgrid clients at fake providers at these URLs."""
    return {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-token",
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio_url,
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_FROM_EMAIL": FROM_EMAIL,
        "SENDGRID_API_HOST": sendgrid_url,
    }


def provider_env(twilio: FakeTwilio, sendgrid: FakeSendGrid) -> dict[str, str]:
    """The fake providers' settings, with the public address Twilio signs its requests for."""
    return {**provider_settings(twilio.url, sendgrid.url), "PUBLIC_BASE_URL": PUBLIC_BASE_URL}
