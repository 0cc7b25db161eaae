"""The read side at scale: ``python -m bench.reads`` (part of ``make bench``).

One PostgreSQL database grows through the sizes asked for (10,000 → 100,000 → 1,000,000 reports
by default, ``bench.dataset``); at each size the dashboard's figures are computed as the router's
timer would, and every read is timed through the intake app itself (in process, HTTP over ASGI,
as a browser or client would call it; rate limits off): a team's inbox (first page and a deep
page), a watch's items (API), an organisation's requests (Open311, paged and date-filtered), the
track page and the dashboard. p50 and p95 of ``--repeat`` calls each, after a warm-up; and the
plan (``EXPLAIN ANALYZE``) of the slowest statement each read ran, so the indexes they use are on
record (docs/benchmarks.md).

Targets (figures, not tests): every read's p95 ≤ 100 ms at a million reports, and p95 at a million
≤ 1.5 x p95 at ten thousand.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from bench import dataset
from bench.stats import percentile
from infra import postgres as local_postgres
from services.common.track import track_secret
from services.intake.app import create_app
from services.intake.audit import AuditLog
from services.intake.settings import IntakeSettings
from services.store import dashboard
from services.store.db import make_engine, make_sessions, migrate
from services.store.paging import Cursor

POSTGRES_PORT = 16032
DATABASE = "bench_reads"
SIZES = (10_000, 100_000, 1_000_000)
TEAM, WATCH, ORGANISATION = "kempston-npt", "kempston-speed-watch", "stop-hate-beds"
TEAM_KEY, WATCH_KEY, ORG_KEY = "dev-team-kempston", "dev-watch-kempston-speed", "dev-org-stop-hate"
TRACK_SECRET = "bench-track-secret"
TARGET_MS = 100.0


class Publisher:
    """The intake's publisher, for reads only: nothing is published."""

    async def ready(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, key: str, event: Any) -> None:
        raise RuntimeError("the read benchmark publishes nothing")


@contextmanager
def statements() -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run inside the block (any engine), with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _sign_in(client: TestClient, key: str) -> None:
    page = client.get("/sign-in").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the sign-in page"
    r = client.post("/sign-in", data={"api_key": key, "csrf_token": match.group(1), "next": "/inbox"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


class _NoAudit(AuditLog):
    """An audit log that records nothing (only to measure what recording costs)."""

    async def record(self, *args: Any, **kwargs: Any) -> None:
        return None


def reads(url: str, engine: Engine) -> dict[str, tuple[Callable[[TestClient], Any], TestClient]]:
    """Each read: how to call it, and the client (signed in as whom) it is called with."""
    settings = IntakeSettings(database_url=url, rate_limit_per_minute=0, track_secret=TRACK_SECRET, log_level="WARNING",
                              session_secret="bench-session-secret", show_outbox=False)
    # one app (one event loop, one audit writer) per client, as each intake process has
    team, anyone, unaudited = (TestClient(create_app(settings, publisher=Publisher()))  # type: ignore[arg-type]
                               for _ in range(3))
    team.__enter__()
    anyone.__enter__()
    unaudited.__enter__()
    _sign_in(team, TEAM_KEY)
    _sign_in(unaudited, TEAM_KEY)
    # The same inbox with the audit log writing nothing: the difference is what writing it costs a request.
    context = unaudited.app.state.context  # type: ignore[attr-defined]
    unaudited.app.state.context = dataclasses.replace(context, audit=_NoAudit(context.store))  # type: ignore[attr-defined]
    with engine.connect() as conn:
        half = conn.execute(text("SELECT count(*) / 2 FROM report_destinations WHERE destination_id = :team"),
                            {"team": TEAM}).scalar_one()
        deep = conn.execute(text(
            "SELECT reference, received_at FROM report_destinations WHERE destination_id = :team "
            "ORDER BY received_at DESC, reference DESC OFFSET :deep LIMIT 1"), {"team": TEAM, "deep": half}).one()
        newest = conn.execute(text("SELECT max(received_at) FROM reports")).scalar_one()
        tracked = conn.execute(text(
            "SELECT r.reference FROM reports r WHERE r.status = 'closed' AND r.contactable "
            "ORDER BY r.received_at DESC LIMIT 1 OFFSET 100")).scalar_one()
    after = Cursor(deep.received_at, deep.reference).token()
    month_ago = (newest - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    year_ago = (newest - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    year_ago_end = (newest - timedelta(days=335)).strftime("%Y-%m-%dT%H:%M:%SZ")
    org = f"/open311/v2/requests.json?api_key={ORG_KEY}"

    def get(client: TestClient, path: str, headers: dict[str, str] | None = None) -> Callable[[TestClient], Any]:
        def call(c: TestClient) -> Any:
            r = c.get(path, headers=headers or {})
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            return r
        return call

    return {
        "team inbox, first page": (get(team, "/inbox"), team),
        "team inbox, first page, audit log off": (get(unaudited, "/inbox"), unaudited),
        "team inbox, open only": (get(team, "/inbox?status=open"), team),
        "team inbox, a page half-way back": (get(team, f"/inbox?after={after}"), team),
        "watch items API, first page": (get(anyone, f"/v1/watches/{WATCH}/items", {"X-API-Key": WATCH_KEY}), anyone),
        "Open311 requests (organisation), first page": (get(anyone, org), anyone),
        "Open311 requests, last 30 days": (get(anyone, f"{org}&start_date={month_ago}"), anyone),
        "Open311 requests, a month a year ago": (
            get(anyone, f"{org}&start_date={year_ago}&end_date={year_ago_end}&page_size=50"), anyone),
        "track page": (get(anyone, f"/track/{tracked}?secret={track_secret(TRACK_SECRET, tracked)}"), anyone),
        "dashboard": (get(anyone, "/dashboard"), anyone),
    }


def _raw(engine: Engine, statement: str, parameters: Any) -> list[Any]:
    """Run a statement as the driver was given it (same SQL, same parameters); its rows."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.execute(statement, parameters)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()
            raw.rollback()


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    return "\n".join(row[0] for row in _raw(engine, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters))


def measure(url: str, engine: Engine, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    calls = reads(url, engine)
    try:
        _measure(calls, engine, repeat, out)
    finally:
        for client in {id(c): c for _, c in calls.values()}.values():
            client.__exit__(None, None, None)  # the app's shutdown: its audit writer drains
    return out


def _measure(calls: dict[str, tuple[Callable[[TestClient], Any], TestClient]], engine: Engine, repeat: int,
             out: dict[str, Any]) -> None:
    for name, (call, client) in calls.items():
        for _ in range(3):
            call(client)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            call(client)
            timings.append((time.perf_counter() - started) * 1000)
        # The slowest statement of one more call, and its plan.
        with statements() as seen:
            call(client)
        slowest: tuple[float, str, Any] = (-1.0, "", None)
        for statement, parameters in seen:
            if (not statement.lstrip().upper().startswith(("SELECT", "WITH")) or "advisory" in statement
                    or "FOR UPDATE" in statement.upper()):
                continue  # a write the read makes (its audit entry, the log's lock): not run twice
            started = time.perf_counter()
            _raw(engine, statement, parameters)
            took = (time.perf_counter() - started) * 1000
            if took > slowest[0]:
                slowest = (took, statement, parameters)
        out[name] = {"p50_ms": round(percentile(timings, 50), 2), "p95_ms": round(percentile(timings, 95), 2),
                     "calls": repeat, "statements": len(seen),
                     "slowest_sql": slowest[1], "plan": explain(engine, slowest[1], slowest[2]) if slowest[1] else ""}
        print(f"  {name:48s} p50 {out[name]['p50_ms']:8.2f} ms   p95 {out[name]['p95_ms']:8.2f} ms", flush=True)


def run(sizes: list[int], repeat: int, port: int, seed: int) -> dict[str, Any]:
    base = local_postgres.ensure_postgres(port)
    with contextlib.suppress(Exception):  # not there yet
        local_postgres.drop_database(base, DATABASE)
    url = local_postgres.create_database(base, DATABASE)
    migrate(url)
    engine = make_engine(url)
    results: dict[str, Any] = {"sizes": {}, "seed": seed}
    have = 0
    try:
        for size in sorted(sizes):
            print(f"[reads] filling to {size:,} reports ...", flush=True)
            took = dataset.fill(url, size - have, seed=seed, first=have)
            have = size
            started = time.perf_counter()
            with make_sessions(engine)() as session:
                months = dashboard.refresh(session, dashboard.every_month(session), dataset.END)
            rebuild = time.perf_counter() - started
            print(f"[reads] {size:,} reports (+{took:.0f} s to fill, dashboard {months} months in {rebuild:.1f} s)",
                  flush=True)
            results["sizes"][str(size)] = {"fill_seconds": round(took, 1), "dashboard_rebuild_seconds":
                                           round(rebuild, 2), "reads": measure(url, engine, repeat)}
    finally:
        engine.dispose()
    return results


def again(repeat: int, port: int) -> dict[str, Any]:
    """Measure the reads again on the database the last run left (no filling: after a change to
    the read side, at the size that run reached)."""
    url = local_postgres.ensure_postgres(port).rsplit("/", 1)[0] + "/" + DATABASE
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT count(*) FROM reports")).scalar_one()
        print(f"[reads] {size:,} reports (the last run's database)", flush=True)
        return {"sizes": {str(size): {"reads": measure(url, engine, repeat)}}}
    finally:
        engine.dispose()


def summary(results: dict[str, Any]) -> str:
    """A Markdown table of p50/p95 per read and size, and whether the targets were met."""
    sizes = list(results["sizes"])
    names = list(results["sizes"][sizes[0]]["reads"])
    head = "| read | " + " | ".join(f"{int(s):,}: p50 / p95 ms" for s in sizes) + " |"
    lines = [head, "|" + "---|" * (len(sizes) + 1)]
    for name in names:
        figures = [results["sizes"][s]["reads"][name] for s in sizes]
        cells = [f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f}" for f in figures]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="report counts to measure at, comma-separated (default 10000,100000,1000000)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-port", type=int, default=POSTGRES_PORT)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--again", action="store_true",
                        help="measure the database the last run left, at its size, without filling")
    args = parser.parse_args(argv)
    results = (again(args.repeat, args.postgres_port) if args.again else
               run([int(s) for s in args.sizes.split(",")], args.repeat, args.postgres_port, args.seed))
    print(summary(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
