"""``python -m tests.load [--rate 20] [--seconds 30]`` (``make load``): the whole pipeline on
this machine (its own broker on a free port, a SQLite store, the three services as processes,
a fake Twilio), fed reports through the HTTP intake at a fixed rate for a fixed time. Every
accepted report must come back as an acknowledgement SMS; it prints the rate, how many were
accepted, acknowledged and lost, and the latency from submission to acknowledgement (p50, p99).
Counts come from the services' /metrics and the fake provider, not from logs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from harness.faults import report_body, scrape
from harness.processes import free_port, provider_env, running_stack, service_env
from harness.providers import FakeSendGrid, FakeTwilio
from infra import kafka as local_kafka
from infra.topics import create_topics
from services.common.metrics import total
from services.store.db import migrate


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def submit(url: str, rate: float, seconds: float) -> tuple[dict[str, float], int]:
    """Reports at ``rate`` a second for ``seconds``: phone number → submission time, refusals."""
    sent: dict[str, float] = {}
    refused = 0
    total_reports = int(rate * seconds)
    # aiohttp, not httpx: httpx's pool grows slow with many requests in flight, and the load
    # generator must not be what limits the figures.
    async with aiohttp.ClientSession(base_url=url, timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def one(i: int) -> None:
            nonlocal refused
            body = report_body(i)
            phone = "+44" + str(body["informant"]["phone"]).replace(" ", "")[1:]  # type: ignore[index]
            at = time.time()
            async with client.post("/v1/reports", json=body, headers={"Idempotency-Key": f"load-{i}"}) as r:
                await r.read()
            if r.status == 202:
                sent[phone] = at
            else:
                refused += 1

        start = time.monotonic()
        tasks = []
        for i in range(total_reports):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return sent, refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0, help="reports a second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--postgres-port", type=int,
                        help="PostgreSQL cluster port (infra.postgres; a fresh database) instead of SQLite")
    parser.add_argument("--drain", type=float, default=120.0, help="how long to wait for the last acknowledgements")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mecc-load-"))
    port = free_port()
    broker = local_kafka.Broker(port=port, controller_port=free_port())
    local_kafka.reset(broker)
    create_topics(local_kafka.start(broker))
    database_url = f"sqlite:///{work}/store.db"
    if args.postgres_port:
        from infra import postgres as local_postgres

        server = local_postgres.ensure_postgres(args.postgres_port)
        database_url = local_postgres.create_database(server, f"mecc_load_{work.name[-8:].lower()}")
    migrate(database_url)
    try:
        with FakeTwilio() as twilio, FakeSendGrid() as sendgrid:
            env = service_env(kafka=broker.bootstrap, database_url=database_url,
                              extra={**provider_env(twilio, sendgrid), "RATE_LIMIT_PER_MINUTE": "0",
                                     "LOG_LEVEL": "WARNING", "TWILIO_STATUS_CALLBACKS": "false"})
            with running_stack(env, work) as stack:
                time.sleep(8)  # let the workers join their groups
                started = time.monotonic()
                sent, refused = asyncio.run(submit(stack.intake_url, args.rate, args.seconds))
                elapsed = time.monotonic() - started
                deadline = time.monotonic() + args.drain
                acked: dict[str, float] = {}
                while time.monotonic() < deadline and len(acked) < len(sent):
                    for message in twilio.messages():
                        if message.to in sent and message.to not in acked:
                            acked[message.to] = message.received_at.timestamp()
                    time.sleep(0.05)
                intake = scrape(stack.services["intake"].port)
                feedback = scrape(stack.services["feedback"].port)
            counts: dict[str, int] = {}
            for message in twilio.messages():
                counts[message.to] = counts.get(message.to, 0) + 1
    finally:
        local_kafka.reset(broker)
    latencies = [acked[p] - sent[p] for p in acked]
    result = {
        "target_rate": args.rate, "seconds": args.seconds, "achieved_rate": round(len(sent) / elapsed, 1),
        "reports_sent": int(args.rate * args.seconds), "accepted": len(sent), "refused": refused,
        "received_metric": total(intake, "mecc_reports_received_total"),
        "sms_sent_metric": total(feedback, "mecc_messages_total", channel="sms", status="sent"),
        "acknowledged": len(acked), "lost": len(sent) - len(acked),
        "duplicates": sum(c - 1 for p, c in counts.items() if p in sent and c > 1),
        "p50_s": round(percentile(latencies, 50), 3), "p99_s": round(percentile(latencies, 99), 3),
    }
    print("LOAD SUMMARY " + json.dumps(result))
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
