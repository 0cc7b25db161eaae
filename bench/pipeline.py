"""The pipeline measured the way a force's architect would before buying it: every figure from
ONE run on ONE machine, so that the ratios between them mean something on a noisy machine.

    python -m bench.pipeline [--quick] [--profile] [--json PATH]     (or: make bench)

It starts its own Kafka broker (port 39092, fresh data, removed afterwards), its own
PostgreSQL cluster (port 16032, a fresh database per scenario) and its own fake Twilio and
SendGrid (in a child process, answering at once), runs the real services as processes
(``harness.processes.Service``), and measures:

1. the floor: ``org.apache.kafka.tools.ProducerPerformance`` (the broker's own producer, the
   physical ceiling), and a plain aiokafka consume-produce pass-through of the same messages
   between two topics (``bench.passthrough``), batched and one acknowledgement at a time;
2. the router: contacts routed per second, 200 areas (100 watches, 20 teams) and 5,000 areas;
3. the feedback worker: messages rendered, claimed and handed to the fake providers per second;
4. the intake: reports accepted per second over HTTP (acks=all), 16 and 64 concurrent clients;
5. end to end: at a fixed rate, the time from the HTTP 202 to the "you said" SMS reaching
   the fake Twilio (p50/p95/p99), how many never arrived, and each service's CPU per report;
   three consecutive runs (one with ``--quick``), each printed;
6. the peak resident memory (VmHWM) of every service process;
7. the router and the feedback worker with 2 worker processes against 1 (topics have 4 partitions);
8. idle cost: the share of a core each service uses with nothing to do.

Router and feedback runs: the workers are started with their consumer group moved to the end of
their topics, and once every worker holds its partitions a burst of messages is written (some
hundred times faster than a worker drains it); throughput is counted from the first output to
the last within the measuring window. Prints a table and writes JSON (``build/bench/results.json``).
``--quick`` (or ``BENCH_QUICK=1``) is a ~2 minute smoke run with shorter windows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from bench.routing import reports, write_config
from bench.stats import distribution, ratio
from harness.kafka import FEEDBACK_TOPICS, ROUTER_TOPICS, start_group_at_end
from harness.processes import ROOT, Service, free_port, service_env
from harness.providers_process import FakeProviders
from infra import kafka as local_kafka
from infra import postgres as local_postgres
from infra.topics import create_topics
from schemas import PublicContact
from schemas.topics import (
    CONTACTS_PUBLIC,
    CONTACTS_THIRD_PARTY,
    REPORTS_ROUTED,
    TOPICS,
)
from services.common.config_files import load_categories
from services.feedback import policy
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store.db import migrate

KAFKA_PORT, CONTROLLER_PORT, POSTGRES_PORT = 39092, 39093, 16032
OUT = ROOT / "build" / "bench"
SOURCE, PASSTHROUGH, PERF = "bench.source", "bench.passthrough", "bench.perf"
BENCH_TOPICS = {SOURCE: 4, PASSTHROUGH: 4, PERF: 4}
REFERENCE = re.compile(r"MECC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
#: What is asked of the pipeline (docs/benchmarks.md, "Targets").
TARGETS = {"large_to_realistic": 0.8, "e2e_p99_ms": 500.0, "e2e_rate": 100.0, "e2e_seconds": 60.0,
           "e2e_runs": 3, "rss_mb": 200.0, "cpu_ms_per_report": 2.5, "router_per_second": 1500.0,
           "feedback_per_second": 1000.0, "two_workers_to_one": 1.8, "idle_core_share": 0.01}


@dataclass(frozen=True)
class Plan:
    quick: bool
    #: Seconds of steady output measured per router or feedback run.
    window: float
    router_burst: int
    feedback_burst: int
    floor_messages: int
    perf_records: int
    intake_seconds: float
    e2e_rate: float
    e2e_seconds: float
    #: After the last submission, how long to wait for the last SMS.
    drain_seconds: float
    #: Consecutive end-to-end runs.
    e2e_runs: int
    #: Seconds the idle services are watched.
    idle_seconds: float
    intake_clients: tuple[int, ...] = (16, 64)


FULL = Plan(quick=False, window=20, router_burst=8000, feedback_burst=6000, floor_messages=40000,
            perf_records=500_000, intake_seconds=12, e2e_rate=100, e2e_seconds=60, drain_seconds=120,
            e2e_runs=3, idle_seconds=30)
QUICK = Plan(quick=True, window=6, router_burst=2500, feedback_burst=2000, floor_messages=10000,
             perf_records=100_000, intake_seconds=4, e2e_rate=100, e2e_seconds=15, drain_seconds=45,
             e2e_runs=1, idle_seconds=8)


class BenchError(Exception):
    pass


# ---- processes ------------------------------------------------------------------------------


def _proc_status(pid: int, field: str) -> float:
    """A ``kB`` field of /proc/<pid>/status, in MB (NaN when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return math.nan


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process so far."""
    return _proc_status(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    kafka_jar = next(iter(sorted((local_kafka.DEFAULT_HOME / "lib").glob("kafka_2.13-*.jar"))), None)
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "kafka": kafka_jar.stem.split("-", 1)[1] if kafka_jar else "unknown"}


class Services:
    """Service processes started for one scenario; ``stop()`` ends them all."""

    PORT_VARS = {"intake": "INTAKE_PORT", "router": "ROUTER_WEB_PORT", "feedback": "FEEDBACK_WEB_PORT"}

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[Service] = []

    def start(self, name: str, env: dict[str, str], label: str) -> Service:
        port = free_port()
        service = Service(name, {**env, self.PORT_VARS[name]: str(port)}, port, self.logs / f"{label}.log")
        self.started.append(service)
        service.start(timeout=120)
        return service

    def stop(self) -> None:
        for service in self.started:
            service.stop()
        self.started.clear()


def pid_of(service: Service) -> int:
    assert service.proc is not None
    return service.proc.pid


# ---- Kafka ----------------------------------------------------------------------------------


class Kafka:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mecc-bench")

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                          linger_ms=5, max_batch_size=256 * 1024)
        await self._consumer.start()
        await self._producer.start()

    async def stop(self) -> None:
        for client in (self._producer, self._consumer):
            if client is not None:
                await client.stop()
        self._admin.close()

    @staticmethod
    def partitions(topic: str) -> list[TopicPartition]:
        count = TOPICS[topic].partitions if topic in TOPICS else BENCH_TOPICS[topic]
        return [TopicPartition(topic, p) for p in range(count)]

    async def end_offsets(self, topic: str) -> dict[int, int]:
        assert self._consumer is not None
        ends = await self._consumer.end_offsets(self.partitions(topic))
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    async def total(self, topic: str) -> int:
        return sum((await self.end_offsets(topic)).values())

    async def produce(self, records: list[tuple[str, bytes, bytes]]) -> float:
        """Write (topic, key, value) records and wait for every acknowledgement; seconds taken."""
        assert self._producer is not None
        start = time.monotonic()
        futures = [await self._producer.send(topic, key=key, value=value) for topic, key, value in records]
        await asyncio.gather(*futures)
        return time.monotonic() - start

    async def read(self, topic: str, start: dict[int, int]) -> list[bytes]:
        """Every value written to ``topic`` from ``start`` (partition -> offset) to its end now."""
        ends = await self.end_offsets(topic)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        values: list[bytes] = []
        try:
            wanted = {TopicPartition(topic, p): end for p, end in ends.items() if end > start.get(p, 0)}
            consumer.assign(list(wanted))
            for tp in wanted:
                consumer.seek(tp, start.get(tp.partition, 0))
            while wanted:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                for tp, records in batches.items():
                    values.extend(r.value for r in records if r.value is not None and r.offset < wanted.get(tp, 0))
                    if tp in wanted and records and records[-1].offset + 1 >= wanted[tp]:
                        del wanted[tp]
                if not batches:
                    break
        finally:
            await consumer.stop()
        return values

    async def skip_to_end(self, group_id: str, topics: tuple[str, ...]) -> None:
        """Commit the end of ``topics`` for a consumer group nobody has joined yet, so that its
        workers start with nothing to read."""
        await asyncio.to_thread(start_group_at_end, self.bootstrap, group_id, topics)

    def group_ready(self, group_id: str, members: int) -> bool:
        """Whether the group is stable with ``members`` members (each then holds its partitions)."""
        try:
            described: Any = self._admin.describe_groups([group_id])
        except Exception:
            return False
        groups = list(described.values()) if isinstance(described, dict) else list(described)
        for group in groups:
            info = group if isinstance(group, dict) else group._asdict()
            found = info.get("members") or []
            state = info.get("group_state") or info.get("state")
            # Stable: every member has been given its partitions (SyncGroup is done).
            return state == "Stable" and len(found) == members
        return False

    async def wait_group(self, group_id: str, members: int, timeout: float = 90.0) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if await asyncio.to_thread(self.group_ready, group_id, members):
                return time.monotonic() - start
            await asyncio.sleep(0.3)
        raise BenchError(f"consumer group {group_id} did not settle with {members} member(s) in {timeout:.0f}s")


def create_bench_topics(bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mecc-bench")
    try:
        for name, partitions in BENCH_TOPICS.items():
            with suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name=name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


# ---- measuring ------------------------------------------------------------------------------


async def measure_output(count: Callable[[], Awaitable[int]], *, baseline: int, target: int, window: float,
                         first_within: float = 120.0, stall: float = 15.0) -> dict[str, Any]:
    """Watch a count grow past ``baseline``: from the first output, until ``target`` outputs or
    ``window`` seconds (or no progress for ``stall`` seconds). Throughput is counted between the
    first and the last output seen, so start-up and group joining are left out."""
    start = time.monotonic()
    while True:
        seen = await count() - baseline
        if seen > 0:
            break
        if time.monotonic() - start > first_within:
            raise BenchError(f"no output within {first_within:.0f}s")
        await asyncio.sleep(0.02)
    t_first = t_last = time.monotonic()
    n_first = n_last = seen
    while n_last < target and time.monotonic() - t_first < window:
        await asyncio.sleep(0.05)
        seen = await count() - baseline
        now = time.monotonic()
        if seen != n_last:
            t_last, n_last = now, seen
        elif now - t_last > stall:
            break
    seconds = t_last - t_first
    return {"items": n_last - n_first, "seconds": round(seconds, 3),
            "per_second": (n_last - n_first) / seconds if seconds > 0 else math.nan,
            "done": n_last, "of": target, "to_first_output_s": round(t_first - start, 3)}


class Profiler:
    """``py-spy record`` on a process for a while (raw collapsed stacks), if py-spy is installed."""

    def __init__(self, pid: int, seconds: float, path: Path) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.path = path
        self.proc: subprocess.Popen[bytes] | None = None
        if Path(exe).exists():
            self.proc = subprocess.Popen(
                [exe, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "200", "-f", "raw",
                 "--nonblocking", "-o", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self) -> dict[str, Any] | None:
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        return summarise_profile(self.path) if self.path.exists() else None


_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('fn')} ({file})"


def summarise_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive shares of the busiest functions in a py-spy raw (collapsed) profile."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    share = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return {"samples": total,
            "self_percent": [[name, share(n)] for name, n in own.most_common(top)],
            "inclusive_percent": [[name, share(n)] for name, n in inclusive.most_common(top * 3)]}


# ---- the scenarios --------------------------------------------------------------------------


def contact_records(contacts: list[Any]) -> list[tuple[str, bytes, bytes]]:
    return [((CONTACTS_PUBLIC if isinstance(c, PublicContact) else CONTACTS_THIRD_PARTY).name,
             c.reference.encode(), c.model_dump_json().encode()) for c in contacts]


class Bench:
    def __init__(self, plan: Plan, bootstrap: str, postgres: str, providers: FakeProviders, work: Path,
                 profile: bool) -> None:
        self.plan = plan
        self.kafka = Kafka(bootstrap)
        self.postgres = postgres
        self.providers = providers
        self.work = work
        self.profile = profile
        self.run_id = uuid.uuid4().hex[:6]
        self.databases: list[str] = []
        self.logs = OUT / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.services = Services(self.logs)
        self.realistic = work / "config-200"
        self.large = work / "config-5000"
        self.realistic_sizes = write_config(self.realistic, 200, n_teams=20, n_watches=100)
        self.large_sizes = write_config(self.large, 5000)

    def fresh_database(self, label: str) -> str:
        name = f"bench_{self.run_id}_{label}".replace("-", "_")
        url = local_postgres.create_database(self.postgres, name)
        migrate(url)
        self.databases.append(name)
        return url

    def env(self, config_dir: Path, database_url: str) -> dict[str, str]:
        env = service_env(kafka=self.kafka.bootstrap, database_url=database_url, extra=self.providers.env())
        env.update({
            "LOG_LEVEL": "WARNING",
            "ROUTING_CONFIG_DIR": str(config_dir),
            "ACCESS_CONFIG": str(ROOT / "config" / "access.yaml"),
            "OUTBOX_PATH": str(OUT / "outbox.jsonl"),
            # Production's defaults, not the tests' quick ones.
            "DUE_CHECK_SECONDS": "1",
            "RETRY_BASE_SECONDS": "2",
            # All the load comes from one address: measure the pipeline, not the abuse guard.
            "RATE_LIMIT_PER_MINUTE": "0",
        })
        return env

    # -- 1. the floor --

    def producer_performance(self, record_size: int) -> dict[str, Any]:
        broker = local_kafka.Broker(port=KAFKA_PORT, controller_port=CONTROLLER_PORT)
        command = local_kafka._java(
            broker, "org.apache.kafka.tools.ProducerPerformance", "--topic", PERF,
            "--num-records", str(self.plan.perf_records), "--record-size", str(record_size),
            "--throughput", "-1", "--producer-props", f"bootstrap.servers={self.kafka.bootstrap}", "acks=all")
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        pattern = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg "
                             r"latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?")
        found = [m for m in pattern.finditer(done.stdout)]
        if not found:
            raise BenchError(f"ProducerPerformance said: {done.stdout[-500:]} {done.stderr[-500:]}")
        m = found[-1]
        return {"records": int(m.group(1)), "record_bytes": record_size, "per_second": float(m.group(2)),
                "mb_per_second": float(m.group(3)), "avg_latency_ms": float(m.group(4)),
                "p99_latency_ms": float(m.group(8)) if m.group(8) else None, "acks": "all"}

    async def passthrough(self, start: dict[int, int], mode: str, total: int) -> dict[str, Any]:
        baseline = await self.kafka.total(PASSTHROUGH)
        log = (self.logs / f"passthrough-{mode}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.passthrough", "--bootstrap", self.kafka.bootstrap, "--source", SOURCE,
             "--dest", PASSTHROUGH, "--start", json.dumps(start), "--mode", mode],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            result = await measure_output(lambda: self.kafka.total(PASSTHROUGH), baseline=baseline, target=total,
                                          window=self.plan.window)
            result["peak_rss_mb"] = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        return result

    # -- 2 and 7. the router --

    async def router(self, label: str, config_dir: Path, workers: int) -> dict[str, Any]:
        contacts = reports(self.plan.router_burst, key_prefix=f"{self.run_id}-{label}")
        records = contact_records(contacts)
        env = self.env(config_dir, self.fresh_database(label))
        group = env["ROUTER_APP_ID"]
        await self.kafka.skip_to_end(group, ROUTER_TOPICS)
        try:
            started = time.monotonic()
            procs = [self.services.start("router", env, f"{label}-{i}") for i in range(workers)]
            await self.kafka.wait_group(group, workers)
            ready_s = time.monotonic() - started
            baseline = await self.kafka.total(REPORTS_ROUTED.name)
            profiler = (Profiler(pid_of(procs[0]), self.plan.window, OUT / f"profile-{label}.txt")
                        if self.profile else None)
            cpu_before = sum(cpu_seconds(pid_of(p)) for p in procs)
            fill_s = await self.kafka.produce(records)
            result = await measure_output(lambda: self.kafka.total(REPORTS_ROUTED.name), baseline=baseline,
                                          target=len(records), window=self.plan.window)
            cpu = sum(cpu_seconds(pid_of(p)) for p in procs) - cpu_before
            result.update(workers=workers, cpu_ms_per_item=round(1000 * cpu / max(1, result["done"]), 2),
                          ready_s=round(ready_s, 1), fill_s=round(fill_s, 2),
                          fill_per_second=round(len(records) / fill_s),
                          peak_rss_mb=[peak_rss_mb(pid_of(p)) for p in procs])
            if profiler is not None:
                result["profile"] = profiler.finish()
            return result
        finally:
            self.services.stop()

    # -- 3 and 7. the feedback worker --

    async def feedback(self, label: str, workers: int) -> dict[str, Any]:
        config = load_routing_config(self.realistic)
        categories = load_categories(self.realistic)
        items = [routed_item(c, config) for c in reports(self.plan.feedback_burst, key_prefix=f"{self.run_id}-{label}")]
        expected = sum(len(policy.plan(i.contact, sensitive=categories.is_sensitive(i.contact.report.category))
                           .recipients) for i in items)
        records = [(REPORTS_ROUTED.name, i.reference.encode(), i.model_dump_json().encode()) for i in items]
        env = self.env(self.realistic, self.fresh_database(label))
        group = env["FEEDBACK_APP_ID"]
        await self.kafka.skip_to_end(group, FEEDBACK_TOPICS)
        try:
            procs = [self.services.start("feedback", env, f"{label}-{i}") for i in range(workers)]
            await self.kafka.wait_group(group, workers)
            baseline = await asyncio.to_thread(self.providers.count)
            profiler = (Profiler(pid_of(procs[0]), self.plan.window, OUT / f"profile-{label}.txt")
                        if self.profile else None)
            cpu_before = sum(cpu_seconds(pid_of(p)) for p in procs)
            fill_s = await self.kafka.produce(records)
            result = await measure_output(lambda: asyncio.to_thread(self.providers.count), baseline=baseline,
                                          target=expected, window=self.plan.window)
            cpu = sum(cpu_seconds(pid_of(p)) for p in procs) - cpu_before
            result.update(workers=workers, cpu_ms_per_item=round(1000 * cpu / max(1, result["done"]), 2),
                          routed_items=len(items), messages_expected=expected,
                          fill_s=round(fill_s, 2), peak_rss_mb=[peak_rss_mb(pid_of(p)) for p in procs])
            if profiler is not None:
                result["profile"] = profiler.finish()
            return result
        finally:
            self.services.stop()

    # -- 4. the intake --

    def _payload(self, rnd: random.Random, i: int) -> dict[str, Any]:
        categories = ["anti-social-behaviour", "speeding", "drugs", "suspicious-activity", "vehicle-crime",
                      "burglary-concern", "criminal-damage", "fly-tipping", "noise", "abandoned-vehicle"]
        texts = ["Cars racing on Bedford Road every night after 10pm",
                 "Youths shouting outside the shops again and again",
                 "Someone tried car doors on Church Lane last night",
                 "Vans parked on the verge blocking the footpath"]
        from bench.routing import EAST, NORTH, SOUTH, WEST
        return {"category": rnd.choice(categories), "description": rnd.choice(texts),
                "location": {"latitude": round(rnd.uniform(SOUTH, NORTH), 6),
                             "longitude": round(rnd.uniform(WEST, EAST), 6)},
                "informant": {"phone": f"07700 900{i % 1000:03d}"}}

    async def intake(self) -> dict[str, Any]:
        env = self.env(self.realistic, self.fresh_database("intake"))
        rnd = random.Random(11)
        payloads = [self._payload(rnd, i) for i in range(1000)]
        try:
            service = self.services.start("intake", env, "intake")
            url = f"http://127.0.0.1:{service.port}"
            out: dict[str, Any] = {"by_clients": {}}
            for clients in self.plan.intake_clients:
                # aiohttp, not httpx: httpx's connection pool costs more CPU per request the more
                # connections it holds, and at 64 clients the load generator, not the intake, was
                # the limit (it measured the intake slower at 64 clients than at 16).
                connector = aiohttp.TCPConnector(limit=clients)
                async with aiohttp.ClientSession(base_url=url, connector=connector,
                                                 timeout=aiohttp.ClientTimeout(total=30)) as client:
                    for p in payloads[:50]:  # warm up: connections, the producer
                        async with client.post("/v1/reports", json=p) as r:
                            await r.read()
                    statuses: Counter[int] = Counter()
                    errors: Counter[str] = Counter()
                    latencies: list[float] = []
                    stop_at = time.monotonic() + self.plan.intake_seconds
                    cpu_before = cpu_seconds(pid_of(service))
                    client_cpu_before = cpu_seconds(os.getpid())

                    async def worker(k: int, client: aiohttp.ClientSession = client,
                                     statuses: Counter[int] = statuses,
                                     latencies: list[float] = latencies, stop_at: float = stop_at,
                                     clients: int = clients, errors: Counter[str] = errors) -> None:
                        n = k
                        while time.monotonic() < stop_at:
                            t = time.perf_counter()
                            n += clients
                            try:
                                async with client.post("/v1/reports", json=payloads[n % len(payloads)]) as r:
                                    await r.read()
                            except (aiohttp.ClientError, TimeoutError) as exc:  # counted, not fatal
                                errors[type(exc).__name__] += 1
                                continue
                            latencies.append((time.perf_counter() - t) * 1000)
                            statuses[r.status] += 1

                    start = time.monotonic()
                    await asyncio.gather(*(worker(k) for k in range(clients)))
                    elapsed = time.monotonic() - start
                    accepted = statuses.get(202, 0)
                    out["by_clients"][str(clients)] = {
                        "accepted": accepted, "other_statuses": {str(k): v for k, v in statuses.items() if k != 202},
                        "client_errors": dict(errors), "seconds": round(elapsed, 2), "per_second": accepted / elapsed,
                        "latency_ms": distribution(latencies),
                        "intake_cpu_per_request_ms": 1000 * (cpu_seconds(pid_of(service)) - cpu_before)
                        / max(1, accepted),
                        # The load generator shares the machine: how busy it was (1.0 = one core).
                        "client_cpu_share": (cpu_seconds(os.getpid()) - client_cpu_before) / elapsed}
            out["peak_rss_mb"] = peak_rss_mb(pid_of(service))
            return out
        finally:
            self.services.stop()

    # -- 5 and 6. end to end --

    async def end_to_end(self) -> dict[str, Any]:
        """``e2e_runs`` consecutive runs, each with fresh services and a fresh database."""
        runs = []
        for n in range(1, self.plan.e2e_runs + 1):
            print(f"[bench] end_to_end run {n} of {self.plan.e2e_runs} ...", flush=True)
            runs.append(await self.end_to_end_run(f"e2e-{n}"))
            lat = runs[-1]["latency_ms"]
            print(f"[bench] end_to_end run {n}: p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} / p99 {lat['p99']:.0f} ms,"
                  f" {runs[-1]['lost']} lost, CPU per report {runs[-1]['cpu_ms_per_report']} ms", flush=True)
        return {"runs": runs}

    async def end_to_end_run(self, label: str) -> dict[str, Any]:
        plan = self.plan
        env = self.env(self.realistic, self.fresh_database(label))
        await self.kafka.skip_to_end(env["ROUTER_APP_ID"], ROUTER_TOPICS)
        await self.kafka.skip_to_end(env["FEEDBACK_APP_ID"], FEEDBACK_TOPICS)
        rnd = random.Random(22)
        total = int(plan.e2e_rate * plan.e2e_seconds)
        payloads = [self._payload(rnd, i) for i in range(total)]
        try:
            procs = {name: self.services.start(name, env, f"{label}-{name}")
                     for name in ("router", "feedback", "intake")}
            await self.kafka.wait_group(env["ROUTER_APP_ID"], 1)
            await self.kafka.wait_group(env["FEEDBACK_APP_ID"], 1)
            cpu_before = {name: cpu_seconds(pid_of(s)) for name, s in procs.items()}
            routed_from = await self.kafka.end_offsets(REPORTS_ROUTED.name)
            profilers = {name: Profiler(pid_of(procs[name]), min(plan.window, plan.e2e_seconds),
                                        OUT / f"profile-{label}-{name}.txt")
                         for name in ("router", "feedback", "intake")} if self.profile else {}
            url = f"http://127.0.0.1:{procs['intake'].port}"
            accepted: dict[str, float] = {}
            statuses: Counter[int] = Counter()
            errors: Counter[str] = Counter()
            late: list[float] = []
            # A fixed set of senders takes the reports off a queue filled at the fixed rate, so no
            # request waits in the client's connection pool (aiohttp: see the intake step).
            senders = 64
            queue: asyncio.Queue[tuple[dict[str, Any], float] | None] = asyncio.Queue()
            queued_ms: list[float] = []
            async with aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=senders),
                                             timeout=aiohttp.ClientTimeout(total=60)) as client:
                async def sender() -> None:
                    while (job := await queue.get()) is not None:
                        payload, due = job
                        queued_ms.append((time.monotonic() - due) * 1000)
                        try:
                            async with client.post("/v1/reports", json=payload) as r:
                                body = await r.json() if r.status == 202 else None
                        except (aiohttp.ClientError, TimeoutError) as exc:
                            errors[type(exc).__name__] += 1
                            continue
                        at = time.time()
                        statuses[r.status] += 1
                        if body is not None:
                            accepted[body["reference"]] = at

                workers = [asyncio.create_task(sender()) for _ in range(senders)]
                t0 = time.monotonic()
                for i, payload in enumerate(payloads):
                    due = t0 + i / plan.e2e_rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        late.append(-delay)
                    queue.put_nowait((payload, due))
                for _ in workers:
                    queue.put_nowait(None)
                await asyncio.gather(*workers)
                submit_s = time.monotonic() - t0
            # Wait for the last acknowledgement (or for the drain limit).
            deadline = time.monotonic() + plan.drain_seconds
            delivered: dict[str, float] = {}
            while True:
                for body, at in await asyncio.to_thread(self.providers.sms):
                    m = REFERENCE.search(body)
                    if m and m.group(0) in accepted:
                        delivered[m.group(0)] = min(at, delivered.get(m.group(0), at))
                if len(delivered) >= len(accepted) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            drain_s = time.monotonic() - t0 - submit_s
            latencies = [(delivered[ref] - at) * 1000 for ref, at in accepted.items() if ref in delivered]
            # Where the time goes: 202 -> the router's decision (its emitted_at), and from there
            # -> the SMS at the fake provider.
            decided: dict[str, float] = {}
            for raw in await self.kafka.read(REPORTS_ROUTED.name, routed_from):
                event = json.loads(raw)
                decided.setdefault(event["reference"], datetime.fromisoformat(event["emitted_at"]).timestamp())
            to_router = [(decided[ref] - at) * 1000 for ref, at in accepted.items() if ref in decided]
            to_sms = [(delivered[ref] - decided[ref]) * 1000 for ref in accepted if ref in decided and ref in delivered]
            cpu = {name: cpu_seconds(pid_of(s)) - cpu_before[name] for name, s in procs.items()}
            return {
                "rate_asked": plan.e2e_rate, "seconds": plan.e2e_seconds, "submitted": total,
                "accepted": len(accepted), "other_statuses": {str(k): v for k, v in statuses.items() if k != 202},
                "client_errors": dict(errors),
                "submit_rate_achieved": total / submit_s,
                "waited_for_a_sender_ms": distribution(queued_ms),
                "submissions_late_over_50ms": sum(1 for x in late if x > .05),
                "delivered": len(delivered),
                # Accepted (202) but no SMS within drain_seconds after the last submission.
                "lost": len(accepted) - len(delivered), "drain_limit_s": plan.drain_seconds,
                "drain_after_last_submission_s": round(drain_s, 1),
                "latency_ms": distribution(latencies),
                "latency_202_to_routing_decision_ms": distribution(to_router),
                "latency_routing_decision_to_sms_ms": distribution(to_sms),
                "peak_rss_mb": {name: peak_rss_mb(pid_of(s)) for name, s in procs.items()},
                "cpu_ms_per_report": {name: round(1000 * c / max(1, len(accepted)), 2) for name, c in cpu.items()},
                "cpu_ms_per_report_total": round(1000 * sum(cpu.values()) / max(1, len(accepted)), 2),
                "profile": {name: profiler.finish() for name, profiler in profilers.items()},
            }
        finally:
            self.services.stop()


    # -- 8. idle --

    async def idle(self) -> dict[str, Any]:
        """The three services started, nothing sent: the share of one core each uses."""
        env = self.env(self.realistic, self.fresh_database("idle"))
        await self.kafka.skip_to_end(env["ROUTER_APP_ID"], ROUTER_TOPICS)
        await self.kafka.skip_to_end(env["FEEDBACK_APP_ID"], FEEDBACK_TOPICS)
        try:
            procs = {name: self.services.start(name, env, f"idle-{name}") for name in ("router", "feedback", "intake")}
            await self.kafka.wait_group(env["ROUTER_APP_ID"], 1)
            await self.kafka.wait_group(env["FEEDBACK_APP_ID"], 1)
            await asyncio.sleep(5)  # past start-up's own work
            before = {name: cpu_seconds(pid_of(s)) for name, s in procs.items()}
            started = time.monotonic()
            await asyncio.sleep(self.plan.idle_seconds)
            elapsed = time.monotonic() - started
            return {"seconds": round(elapsed, 1),
                    "core_share": {name: round((cpu_seconds(pid_of(s)) - before[name]) / elapsed, 4)
                                   for name, s in procs.items()}}
        finally:
            self.services.stop()


# ---- running it all -------------------------------------------------------------------------


STEPS = ("broker_producer_performance", "floor_passthrough_batched", "floor_passthrough_each_ack",
         "router_200_areas", "router_5000_areas", "router_200_areas_2_workers", "feedback", "feedback_2_workers",
         "intake", "end_to_end", "idle")


async def scenarios(bench: Bench, results: dict[str, Any], errors: dict[str, str],
                    only: frozenset[str] | None = None) -> None:
    plan = bench.plan
    await bench.kafka.start()

    async def step(name: str, fn: Callable[[], Awaitable[Any]]) -> None:
        if only is not None and name not in only:
            return
        print(f"[bench] {name} ...", flush=True)
        start = time.monotonic()
        try:
            results[name] = await fn()
        except Exception as exc:  # one failed scenario must not lose the others' figures
            errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"[bench] {name} failed: {errors[name]}", flush=True)
        print(f"[bench] {name} took {time.monotonic() - start:.0f}s", flush=True)

    try:
        floor = only is None or bool(only & set(STEPS[:3]))
        contacts = contact_records(reports(plan.floor_messages if floor else 1, key_prefix=f"{bench.run_id}-floor"))
        record_size = round(sum(len(v) for _, _, v in contacts) / len(contacts))
        start = await bench.kafka.end_offsets(SOURCE)
        await bench.kafka.produce([(SOURCE, k, v) for _, k, v in contacts])

        await step("broker_producer_performance", lambda: asyncio.to_thread(bench.producer_performance, record_size))
        await step("floor_passthrough_batched", lambda: bench.passthrough(start, "batch", len(contacts)))
        await step("floor_passthrough_each_ack", lambda: bench.passthrough(start, "each", len(contacts)))
        await step("router_200_areas", lambda: bench.router("router-200", bench.realistic, 1))
        await step("router_5000_areas", lambda: bench.router("router-5000", bench.large, 1))
        await step("router_200_areas_2_workers", lambda: bench.router("router-200-x2", bench.realistic, 2))
        await step("feedback", lambda: bench.feedback("feedback", 1))
        await step("feedback_2_workers", lambda: bench.feedback("feedback-x2", 2))
        await step("intake", bench.intake)
        await step("end_to_end", bench.end_to_end)
        await step("idle", bench.idle)
    finally:
        await bench.kafka.stop()


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return math.nan
        d = d[key]
    return d


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _verdict(value: Any, met: Callable[[Any], bool]) -> dict[str, Any]:
    """A target's verdict: met or missed, or ``None`` when this run did not measure it (``--only``)."""
    return {"value": value, "met": None if _missing(value) else bool(met(value))}


def e2e_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The end-to-end runs of a result (none when the step was not run)."""
    runs = _get(results, "end_to_end", "runs")
    return runs if isinstance(runs, list) else []


def verdicts(results: dict[str, Any], plan: Plan) -> dict[str, Any]:
    floor = _get(results, "floor_passthrough_batched", "per_second")
    floor_each = _get(results, "floor_passthrough_each_ack", "per_second")
    router = _get(results, "router_200_areas", "per_second")
    router_large = _get(results, "router_5000_areas", "per_second")
    feedback = _get(results, "feedback", "per_second")
    runs = e2e_runs(results)
    rss: dict[str, float] = {}
    for name in ("router", "feedback", "intake"):
        rss[name] = max((_get(run, "peak_rss_mb", name) for run in runs), default=math.nan)
    large_rss = _get(results, "router_5000_areas", "peak_rss_mb")
    rss["router (5,000 areas)"] = max(large_rss) if isinstance(large_rss, list) and large_rss else math.nan
    ratios = {
        "router_to_floor": ratio(router, floor),
        "router_to_floor_each_ack": ratio(router, floor_each),
        "feedback_to_floor": ratio(feedback, floor),
        "feedback_to_floor_each_ack": ratio(feedback, floor_each),
        "router_5000_to_200": ratio(router_large, router),
        "router_2_workers_to_1": ratio(_get(results, "router_200_areas_2_workers", "per_second"), router),
        "feedback_2_workers_to_1": ratio(_get(results, "feedback_2_workers", "per_second"), feedback),
        "floor_batched_to_broker": ratio(floor, _get(results, "broker_producer_performance", "per_second")),
    }
    p99s = [_get(run, "latency_ms", "p99") for run in runs]
    full = (len(runs) >= TARGETS["e2e_runs"]
            and all(_get(run, "rate_asked") >= TARGETS["e2e_rate"] and _get(run, "seconds") >= TARGETS["e2e_seconds"]
                    for run in runs))
    quick_note = None if full or not runs else (
        f"quick run: {len(runs)} run(s), not {TARGETS['e2e_runs']} full minutes at 100/s")
    cpu = [_get(run, "cpu_ms_per_report_total") for run in runs]
    idle = _get(results, "idle", "core_share")
    measured_rss = {name: mb for name, mb in rss.items() if not _missing(mb)}
    targets = {
        "e2e p99 < 500 ms in each run": {
            **_verdict(max(p99s) if p99s else math.nan, lambda v: v < TARGETS["e2e_p99_ms"]),
            "each_run": p99s, "note": quick_note},
        "e2e zero lost": _verdict(sum(_get(run, "lost") for run in runs) if runs else math.nan, lambda v: v == 0),
        "e2e CPU per report <= 2.5 ms (router + feedback + intake)": {
            **_verdict(max(cpu) if cpu else math.nan, lambda v: v <= TARGETS["cpu_ms_per_report"]),
            "each_run": cpu},
        "router >= 1,500 reports/s": _verdict(router, lambda v: v >= TARGETS["router_per_second"]),
        "feedback >= 1,000 messages/s": _verdict(feedback, lambda v: v >= TARGETS["feedback_per_second"]),
        "router 2 workers >= 1.8 x 1": _verdict(ratios["router_2_workers_to_1"],
                                                lambda v: v >= TARGETS["two_workers_to_one"]),
        "feedback 2 workers >= 1.8 x 1": _verdict(ratios["feedback_2_workers_to_1"],
                                                  lambda v: v >= TARGETS["two_workers_to_one"]),
        "5,000 areas >= 0.8 x 200 areas": _verdict(ratios["router_5000_to_200"],
                                                   lambda v: v >= TARGETS["large_to_realistic"]),
        "idle < 1% of a core per service": {
            **_verdict(max(idle.values()) if isinstance(idle, dict) and idle else math.nan,
                       lambda v: v < TARGETS["idle_core_share"]),
            "by_service": idle if isinstance(idle, dict) else None},
        "RSS < 200 MB per service": {**_verdict(max(measured_rss.values(), default=math.nan),
                                                lambda v: v < TARGETS["rss_mb"]), "by_service": rss},
    }
    return {"ratios": ratios, "targets": targets}


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def table(document: dict[str, Any]) -> str:
    r = document["results"]
    v = document["verdicts"]
    rows: list[tuple[str, str, str]] = [
        ("broker ProducerPerformance (acks=all)", _fmt(_get(r, "broker_producer_performance", "per_second")),
         "msg/s (ceiling)"),
        ("floor: aiokafka pass-through, batched", _fmt(_get(r, "floor_passthrough_batched", "per_second")),
         f"msg/s  = {_fmt(v['ratios']['floor_batched_to_broker'], 3)} x broker"),
        ("floor: pass-through, one ack at a time", _fmt(_get(r, "floor_passthrough_each_ack", "per_second")),
         "msg/s"),
        ("router, 200 areas / 100 watches / 20 teams", _fmt(_get(r, "router_200_areas", "per_second"), 1),
         f"reports/s = {_fmt(v['ratios']['router_to_floor'], 4)} x floor "
         f"({_fmt(v['ratios']['router_to_floor_each_ack'], 3)} x one-ack floor)"),
        ("router, 5,000 areas", _fmt(_get(r, "router_5000_areas", "per_second"), 1),
         f"reports/s = {_fmt(v['ratios']['router_5000_to_200'], 2)} x 200 areas"),
        ("router, 2 workers (200 areas)", _fmt(_get(r, "router_200_areas_2_workers", "per_second"), 1),
         f"reports/s = {_fmt(v['ratios']['router_2_workers_to_1'], 2)} x 1 worker"),
        ("feedback (fake Twilio/SendGrid)", _fmt(_get(r, "feedback", "per_second"), 1),
         f"messages/s = {_fmt(v['ratios']['feedback_to_floor'], 4)} x floor "
         f"({_fmt(v['ratios']['feedback_to_floor_each_ack'], 3)} x one-ack floor)"),
        ("feedback, 2 workers", _fmt(_get(r, "feedback_2_workers", "per_second"), 1),
         f"messages/s = {_fmt(v['ratios']['feedback_2_workers_to_1'], 2)} x 1 worker"),
    ]
    for clients, res in (_get(r, "intake", "by_clients") or {}).items() if isinstance(
            _get(r, "intake", "by_clients"), dict) else []:
        rows.append((f"intake, {clients} concurrent clients", _fmt(res["per_second"], 1),
                     f"accepted/s (HTTP p99 {_fmt(res['latency_ms']['p99'], 0)} ms)"))
    runs = e2e_runs(r)
    for n, run in enumerate(runs, 1):
        lat = run["latency_ms"]
        cpu = run.get("cpu_ms_per_report", {})
        rows.append((f"end to end at {run['rate_asked']:g}/s for {run['seconds']:g}s, run {n}",
                     f"{_fmt(lat['p50'])} / {_fmt(lat['p95'])} / {_fmt(lat['p99'])}",
                     f"ms p50/p95/p99, 202 -> SMS; {run['lost']} of {run['accepted']} not delivered"))
        rows.append((f"  CPU per report, run {n}: router / feedback / intake",
                     " / ".join(_fmt(cpu.get(name), 2) for name in ("router", "feedback", "intake")),
                     f"ms ({_fmt(run.get('cpu_ms_per_report_total'), 2)} ms in all)"))
    for name, mb in v["targets"]["RSS < 200 MB per service"]["by_service"].items() if runs else ():
        if name != "router (5,000 areas)":
            rows.append((f"peak RSS {name} (e2e)", _fmt(mb, 1), "MB"))
    idle = _get(r, "idle", "core_share")
    if isinstance(idle, dict):
        rows.append(("idle: share of a core, router / feedback / intake",
                     " / ".join(f"{100 * idle[name]:.1f}%" for name in ("router", "feedback", "intake")), ""))
    rows.append(("peak RSS router (5,000 areas)", _fmt(v["targets"]["RSS < 200 MB per service"]["by_service"]
                                                     .get("router (5,000 areas)"), 1), "MB"))
    width = max(len(a) for a, _, _ in rows)
    lines = [f"{'measure':<{width}}  {'value':>18}  unit / ratio", "-" * (width + 60)]
    lines += [f"{a:<{width}}  {b:>18}  {c}" for a, b, c in rows]
    lines.append("")
    lines.append("targets:")
    for name, t in v["targets"].items():
        note = f"  ({t['note']})" if t.get("note") else ""
        if t["met"] is None:
            lines.append(f"  [ -- ] {name}: not measured in this run")
        else:
            lines.append(f"  [{'met ' if t['met'] else 'MISS'}] {name}: {_fmt(t['value'], 3)}{note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
                        help="a ~2 minute smoke run (also BENCH_QUICK=1)")
    parser.add_argument("--profile", action="store_true", default=os.environ.get("BENCH_PROFILE", "") not in ("", "0"),
                        help="py-spy the router and feedback runs (also BENCH_PROFILE=1)")
    parser.add_argument("--json", type=Path, default=OUT / "results.json")
    parser.add_argument("--e2e-rate", type=float, help="reports a second offered end to end (default 100)")
    parser.add_argument("--only", action="append", choices=STEPS, metavar="STEP",
                        help=f"run only this measurement (repeatable): {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.e2e_rate:
        plan = replace(plan, e2e_rate=args.e2e_rate)
    OUT.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    started_at = datetime.now(UTC)

    broker = local_kafka.Broker(port=KAFKA_PORT, controller_port=CONTROLLER_PORT)
    postgres_was_running = local_postgres.postgres_status(POSTGRES_PORT) is not None
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    bench: Bench | None = None
    local_kafka.reset(broker)
    try:
        print("[bench] starting Kafka (port 39092) and PostgreSQL (port 16032) ...", flush=True)
        bootstrap = local_kafka.start(broker)
        create_topics(bootstrap)
        create_bench_topics(bootstrap)
        postgres = local_postgres.ensure_postgres(POSTGRES_PORT)
        with FakeProviders() as providers, tempfile.TemporaryDirectory(prefix="mecc-bench-") as tmp:
            bench = Bench(plan, bootstrap, postgres, providers, Path(tmp), args.profile)
            asyncio.run(scenarios(bench, results, errors, frozenset(args.only) if args.only else None))
    finally:
        if bench is not None:
            bench.services.stop()
            for name in bench.databases:
                try:
                    local_postgres.drop_database(postgres, name)
                except Exception as exc:
                    print(f"[bench] could not drop database {name}: {exc}", file=sys.stderr)
        local_kafka.reset(broker)
        if not postgres_was_running:
            local_postgres.stop_postgres(POSTGRES_PORT)

    document = {
        "benchmark": "make every contact count: the pipeline, one run, one machine",
        "command": "make bench" + (" (BENCH_QUICK=1)" if plan.quick else ""),
        "date": started_at.strftime("%Y-%m-%d"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - began),
        "machine": machine(),
        "plan": asdict(plan),
        "configs": {"realistic": bench.realistic_sizes if bench else None,
                    "large": bench.large_sizes if bench else None},
        "results": results,
        "errors": errors,
    }
    document["verdicts"] = verdicts(results, plan)
    print()
    print(table(document))
    text = json.dumps(document, indent=2, default=str)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text + "\n")
    print(f"\n[bench] {document['duration_s']}s; JSON in {args.json}", flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
