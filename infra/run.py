"""``make run``: the whole system on this machine, in one command.

Starts a local Kafka broker (fetching its jars the first time) and creates the topics,
migrates the embedded SQLite store, starts the intake, router and feedback services, and
prints every message that would be sent (the local outbox) as it is written. Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infra import kafka
from infra.topics import create_topics
from services.common.settings import CommonSettings
from services.store.db import migrate

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".local" / "logs"
SERVICES = ("router", "feedback", "intake")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (a supervisor, `timeout`) stops everything like Ctrl-C


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    settings = CommonSettings()
    broker = kafka.Broker()
    started_broker = kafka.running_pid(broker) is None
    print("Starting Kafka (the first run downloads its jars from Maven Central)...", flush=True)
    bootstrap = kafka.start(broker)
    create_topics(bootstrap)
    migrate(settings.database_url)
    LOGS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "LOG_JSON": os.environ.get("LOG_JSON", "false")}
    procs = []
    for name in SERVICES:
        log = (LOGS / f"{name}.log").open("ab")
        procs.append(subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    port = os.environ.get("INTAKE_PORT", "8000")
    print(f"""
Running. Broker {bootstrap}; store {settings.database_url}; logs in {LOGS}/.

  Report something:   curl -X POST http://127.0.0.1:{port}/v1/reports -H 'content-type: application/json' \\
                        -d '{{"category": "speeding", "description": "Cars racing on Bedford Road",
                             "location": {{"postcode": "MK42 8AA"}}, "informant": {{"phone": "07700 900123"}}}}'
  Record what was done: curl -X POST http://127.0.0.1:{port}/v1/reports/REFERENCE/actions \\
                        -H 'X-API-Key: dev-team-kempston' -H 'content-type: application/json' \\
                        -d '{{"public_text": "Officers patrolled Bedford Road on three evenings this week"}}'
  API documentation:  http://127.0.0.1:{port}/docs

Messages that would be sent appear below (without Twilio/SendGrid credentials they go to the
local outbox). Ctrl-C stops everything.
""", flush=True)
    outbox = subprocess.Popen([sys.executable, "-m", "services.feedback", "outbox", "--follow"], cwd=ROOT, env=env)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        for name, p in zip(SERVICES, procs, strict=True):
            if p.poll() is not None:
                print(f"\n{name} stopped (exit {p.returncode}); see {LOGS / (name + '.log')}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        outbox.terminate()
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        if started_broker:
            kafka.stop(broker)
        print("\nStopped.")


if __name__ == "__main__":
    main()
