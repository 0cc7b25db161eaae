"""``make run``: the whole system on this machine, in one command.

Starts a local Kafka broker (fetching its jars the first time) and creates the topics,
starts the local OpenID provider for staff sign-in (``infra.oidc``; skipped without npm),
migrates the embedded SQLite store, starts the intake, router and feedback services, and
prints every message that would be sent (the local outbox) as it is written. Ctrl-C or SIGTERM
stops everything it started (the services, the outbox follower and the broker, if it started it)
and exits 0.

Everything defaults to the developer's ports and ``.local/``; to run a second copy beside it, set
``KAFKA_PORT`` (the controller takes the next port), ``KAFKA_HOME_DIR``, ``OIDC_PORT``, ``INTAKE_PORT``,
``ROUTER_WEB_PORT``, ``FEEDBACK_WEB_PORT``, ``DATABASE_URL``, ``OUTBOX_PATH`` and ``RUN_LOGS_DIR``.
``KAFKA_SECURE=1`` runs the broker with TLS, SCRAM users and ACLs (``infra.kafka --secure``), each
service connecting as its own user.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infra import kafka, oidc
from services.common.settings import CommonSettings
from services.store.db import migrate

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("router", "feedback", "intake")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (a supervisor, `timeout`, `kill`) stops everything like Ctrl-C


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Ctrl-C stops it even when started from a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = CommonSettings()
    broker = kafka.Broker.from_env()
    logs = Path(os.environ.get("RUN_LOGS_DIR", ROOT / ".local" / "logs"))
    procs: list[subprocess.Popen[bytes]] = []  # the services, each in its own session
    followers: list[subprocess.Popen[bytes]] = []  # the outbox follower, in ours (Ctrl-C reaches it too)
    started_broker = kafka.running_pid(broker) is None
    provider = oidc.OidcProvider.from_env()
    started_provider = False
    try:
        print(f"Starting Kafka {broker.version} (the first run downloads its jars from Maven Central)...",
              flush=True)
        bootstrap = kafka.start(broker)
        kafka.prepare(broker)  # topics; on a secure broker, the services' ACLs too
        migrate(settings.database_url)
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "LOG_JSON": os.environ.get("LOG_JSON", "false"),
               # A local run's dashboard shows a new report within seconds (deployments: 60 s).
               "DASHBOARD_REFRESH_SECONDS": os.environ.get("DASHBOARD_REFRESH_SECONDS", "5")}
        if "OIDC_ISSUER" not in os.environ:
            try:
                started_provider = oidc.running_pid(provider) is None
                oidc.start(provider)
                env.update(provider.intake_env())
            except (oidc.OidcUnavailable, RuntimeError) as exc:
                started_provider = False
                print(f"No local OpenID provider ({exc}): staff sign in with the shared keys only.", flush=True)
        for name in SERVICES:
            # on a secure broker each service is its own user (the intake's writes only what it owns)
            own = {**env, **broker.security(name).env()} if broker.secure else env
            with (logs / f"{name}.log").open("ab") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=own,
                                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        _serve(bootstrap, settings.database_url, logs, procs, followers,
               {**env, **broker.security("feedback").env()} if broker.secure else env)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not cut the shutdown short and leave something running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(procs, followers)
        if started_provider:
            oidc.stop(provider)
        if started_broker:
            kafka.stop(broker)
        print("\nStopped.", flush=True)


def _stop(procs: list[subprocess.Popen[bytes]], followers: list[subprocess.Popen[bytes]]) -> None:
    for f in followers:
        if f.poll() is None:
            f.terminate()
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    for f in followers:
        try:
            f.wait(timeout=5)
        except subprocess.TimeoutExpired:
            f.kill()
            f.wait()


def _serve(bootstrap: str, database_url: str, logs: Path, procs: list[subprocess.Popen[bytes]],
           followers: list[subprocess.Popen[bytes]], env: dict[str, str]) -> None:
    """Print how to use the running system, follow the outbox, and return when a service stops."""
    port = os.environ.get("INTAKE_PORT", "8000")
    print(f"""
Running. Broker {bootstrap}; store {database_url}; logs in {logs}/.

  Report something:   curl -X POST http://127.0.0.1:{port}/v1/reports -H 'content-type: application/json' \\
                        -d '{{"category": "speeding", "description": "Cars racing on Bedford Road",
                             "location": {{"postcode": "MK42 8AA"}}, "informant": {{"phone": "07700 900123"}}}}'
  Record what was done: curl -X POST http://127.0.0.1:{port}/v1/reports/REFERENCE/actions \\
                        -H 'X-API-Key: dev-team-kempston' -H 'content-type: application/json' \\
                        -d '{{"public_text": "Officers patrolled Bedford Road on three evenings this week"}}'
  API documentation:  http://127.0.0.1:{port}/docs
  Staff pages:        http://127.0.0.1:{port}/sign-in (local accounts in the README, e.g. tara.member)

Messages that would be sent appear below (without Twilio/SendGrid credentials they go to the
local outbox). Ctrl-C stops everything.
""", flush=True)
    followers.append(subprocess.Popen([sys.executable, "-m", "services.feedback", "outbox", "--follow"],
                                      cwd=ROOT, env=env))
    while all(p.poll() is None for p in procs):
        time.sleep(1)
    for name, p in zip(SERVICES, procs, strict=True):
        if p.poll() is not None:
            print(f"\n{name} stopped (exit {p.returncode}); see {logs / (name + '.log')}", file=sys.stderr)


if __name__ == "__main__":
    main()
