"""A busy force's reports in PostgreSQL, at any size: ``python -m bench.dataset URL --reports N``.

Reports spread evenly over the three years before ``--end`` (about 30,000 a month at a million),
over the sample config's areas, categories, teams and watches, with what follows a report in
realistic proportions: the routing decision (areas, destinations), clusters, watch items, actions
("we did"), closures with outcomes, the messages to informants (acknowledgement, updates, the
survey) and survey answers. Older reports are mostly closed; the last weeks' mostly open.

Fast: a few hundred report "shapes" are routed by the real router (``routed_item``, so the areas,
destinations and watch items are what routing would decide), and each report is one of them with
its own reference, time, people and story; rows go in with ``COPY``. Reproducible: everything is
drawn from ``random.Random(seed)`` and references from ``reference_from_key``. ``fill`` appends,
so one database can grow 10k → 100k → 1M between measurements (``bench.reads``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from schemas import Informant, Location, PublicContact, ReportDetails, RoutedItem, ThirdPartyContact
from schemas.events import reference_from_key
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import routed_item, watch_items
from services.store.crypto import encrypt
from services.store.repository import dashboard_area

END = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
SHAPES = 400
#: Where reports come from: (min_lat, max_lat, min_lon, max_lon) boxes inside the sample areas, weighted.
PLACES = ((52.115, 52.145, -0.53, -0.48, 5), (52.09, 52.115, -0.53, -0.48, 4), (52.06, 52.15, -0.63, -0.53, 2),
          (52.13, 52.145, -0.48, -0.45, 5), (52.09, 52.13, -0.48, -0.45, 3), (52.1, 52.145, -0.45, -0.40, 3),
          (52.0, 52.25, -0.70, -0.32, 1))
CATEGORIES = (("anti-social-behaviour", 18), ("speeding", 14), ("drugs", 10), ("suspicious-activity", 10),
              ("vehicle-crime", 7), ("burglary-concern", 6), ("criminal-damage", 6), ("rural-crime", 3),
              ("hate-incident", 3), ("domestic-abuse", 2), ("safeguarding", 2), ("fly-tipping", 6), ("noise", 5),
              ("potholes", 3), ("abandoned-vehicle", 3), ("other", 2))
ORGANISATION = "stop-hate-beds"
OUTCOMES = (("resolved", 4), ("action_taken", 4), ("passed_to_partner", 1), ("no_further_action", 2))
PHONES = [f"+4477009{i:05d}" for i in range(200)]


@dataclass(frozen=True)
class Shape:
    item: RoutedItem
    watches: tuple[dict[str, Any], ...]


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def shapes(rng: random.Random, config: RoutingConfig, n: int = SHAPES) -> list[Shape]:
    """``n`` report shapes routed by the real router: a category, a place, public or third party."""
    made = []
    for i in range(n):
        lat_lo, lat_hi, lon_lo, lon_hi, _ = _pick(rng, [(p, p[4]) for p in PLACES])
        category = _pick(rng, CATEGORIES)
        report = ReportDetails(category=category, description=f"Bench report shape {i}: {category} seen here",
                               location=Location(latitude=round(rng.uniform(lat_lo, lat_hi), 5),
                                                 longitude=round(rng.uniform(lon_lo, lon_hi), 5)))
        reference = reference_from_key(f"bench-shape-{i}")
        contact: PublicContact | ThirdPartyContact
        if rng.random() < 0.05:
            contact = ThirdPartyContact(reference=reference, report=report, organisation_id=ORGANISATION,
                                        reporter=Informant(name="Case worker", email="cases@example.org"))
        else:
            contact = PublicContact(reference=reference, report=report,
                                    informant=None if rng.random() < 0.2 else Informant(phone=PHONES[0]))
        item = routed_item(contact, config)
        made.append(Shape(item, tuple(w.model_dump(mode="json") for w in watch_items(item, config))))
    return made


class Rows:
    """Rows per table, in COPY column order."""

    COLUMNS = {
        "reports": ("reference", "kind", "category", "received_at", "contact", "status", "organisation_id", "area",
                    "contactable"),
        "routing_decisions": ("reference", "event_id", "destinations", "reasons", "rules_version", "areas",
                              "decided_at"),
        "report_destinations": ("destination_id", "reference", "kind", "category", "received_at", "status"),
        "report_areas": ("area_id", "reference", "name", "type", "received_at"),
        "clusters": ("id", "category", "label", "created_at"),
        "cluster_members": ("reference", "cluster_id", "category", "latitude", "longitude", "postcode",
                            "received_at"),
        "watch_items": ("watch_id", "reference", "event_id", "category", "received_at", "item"),
        "actions": ("event_id", "reference", "kind", "actor_id", "public_text", "outcome", "outcome_reason",
                    "recorded_at"),
        "messages": ("key", "reference", "trigger", "role", "channel", "recipient", "address_digest", "body",
                     "status", "due_at", "provider", "attempts", "created_at", "updated_at"),
        "survey_answers": ("reference", "question", "answer", "answered_at"),
    }

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.COLUMNS}

    def add(self, table: str, *values: Any) -> None:
        self.rows[table].append(values)


def _recipients() -> dict[str, tuple[str, str]]:
    """A few encrypted addresses, reused (the recipient is never read by the read side)."""
    return {p: (encrypt(p), hashlib.sha256(p.encode()).hexdigest()) for p in PHONES[:20]}


def report_rows(rows: Rows, rng: random.Random, shape: Shape, index: int, seed: int, at: datetime, end: datetime,
                recipients: dict[str, tuple[str, str]], open_cluster: dict[str, tuple[str, datetime, int]]) -> None:
    """One report and everything that followed it by ``end``."""
    item = shape.item
    ref = reference_from_key(f"bench-{seed}-{index}")
    contact = item.contact.model_dump(mode="json")
    contact.update(reference=ref, received_at=at.isoformat(), emitted_at=at.isoformat(),
                   event_id=str(uuid.UUID(int=rng.getrandbits(128))))
    public = item.contact.kind == "public"
    phone = rng.choice(PHONES[:20])
    if public and contact.get("informant"):
        contact["informant"]["phone"] = phone
    contactable = not public or bool(contact.get("informant"))
    category = item.contact.report.category
    age = end - at
    # Older reports are mostly acted on and closed (a few stay open for years); the newest mostly open.
    acted_chance, closed_chance = ((0.95, 0.96) if age > timedelta(days=60) else (0.8, 0.6)
                                   if age > timedelta(days=7) else (0.35, 0.15))
    acted = rng.random() < acted_chance
    closed = acted and rng.random() < closed_chance
    status = "closed" if closed else "open"
    rows.add("reports", ref, item.contact.kind, category, at, json.dumps(encrypt(json.dumps(contact))), status,
             None if public else ORGANISATION, dashboard_area(item.areas), contactable)
    rows.add("routing_decisions", ref, str(uuid.UUID(int=rng.getrandbits(128))),
             json.dumps([d.model_dump(mode="json") for d in item.destinations]), json.dumps(list(item.reasons)),
             item.rules_version, json.dumps([a.model_dump(mode="json") for a in item.areas]),
             at + timedelta(seconds=2))
    for d in {d.id: d for d in item.destinations}.values():
        rows.add("report_destinations", d.id, ref, d.kind.value, category, at, status)
    for a in {a.id: a for a in item.areas}.values():
        rows.add("report_areas", a.id, ref, a.name, a.type.value, at)
    location = item.contact.report.location
    # About a third join a cluster of the same category nearby within a week.
    if rng.random() < 0.35:
        cluster = open_cluster.get(category)
        if cluster is None or at - cluster[1] > timedelta(days=7) or cluster[2] >= 8:
            cluster = (str(uuid.UUID(int=rng.getrandbits(128))), at, 0)
            rows.add("clusters", cluster[0], category, f"{category} near {location.latitude:.3f}", at)
        open_cluster[category] = (cluster[0], cluster[1], cluster[2] + 1)
        rows.add("cluster_members", ref, cluster[0], category, location.latitude, location.longitude, None, at)
    for watch in shape.watches:
        rows.add("watch_items", watch["watch_id"], ref, str(uuid.UUID(int=rng.getrandbits(128))), category, at,
                 json.dumps({**watch, "reference": ref, "received_at": at.isoformat()}))
    role = "informant" if public else "reporter"
    encrypted, digest = recipients[phone]

    def message(trigger: str, when: datetime, state: str = "sent") -> None:
        rows.add("messages", f"{ref}:{trigger}:{role}:sms", ref, trigger, role, "sms", encrypted, digest,
                 "Thank you: we have your report.", state, None, "twilio", 1, when, when)

    if contactable:
        ack_at = at + timedelta(minutes=rng.choice((1, 1, 2, 3, 5, 30, 600)))
        message("ack", min(ack_at, end), "sent" if ack_at <= end else "scheduled")
    moment = at
    if acted:
        steps = 1 + (rng.random() < 0.4)
        team = item.destinations[0].id
        for step in range(steps):
            moment = min(moment + timedelta(hours=rng.expovariate(1 / 30)), end)
            event = str(uuid.UUID(int=rng.getrandbits(128)))
            last = step == steps - 1 and closed
            outcome = _pick(rng, OUTCOMES) if last else None
            rows.add("actions", event, ref, "closure" if last else "action", team,
                     "We visited and spoke to those involved." if not last else "We dealt with it and closed it.",
                     outcome, "Not enough to go on." if outcome == "no_further_action" else None, moment)
            if contactable:
                message(f"{'closure' if last else 'action'}:{event}", moment)
        if closed and contactable and public:
            survey_at = moment + timedelta(days=1)
            if survey_at < end:
                message("survey", survey_at)
                if rng.random() < 0.25:
                    rows.add("survey_answers", ref, "satisfaction", str(rng.choice((2, 3, 4, 4, 5, 5))),
                             survey_at + timedelta(hours=2))
                    rows.add("survey_answers", ref, "kept_informed", rng.choice("YYYN"),
                             survey_at + timedelta(hours=2))


def _copy(conn: psycopg.Connection[Any], rows: Rows) -> None:
    with conn.cursor() as cur:
        for table, columns in Rows.COLUMNS.items():
            if not rows.rows[table]:
                continue
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows.rows[table]:
                    copy.write_row(row)


def times(rng: random.Random, start: int, count: int, total: int, end: datetime) -> Iterator[datetime]:
    """Receipt times of reports ``start``..``start+count`` of ``total`` spread over ``SPAN`` before ``end``:
    evenly in order, with jitter, so a bigger data set reaches as far back with more per month."""
    step = SPAN / max(total, 1)
    for i in range(start, start + count):
        yield end - SPAN + step * i + timedelta(seconds=rng.uniform(0, step.total_seconds()))


def fill(url: str, count: int, *, seed: int = 7, first: int = 0, end: datetime = END,
         batch: int = 20_000) -> float:
    """Add reports ``first``..``first+count`` (of a data set ``first+count`` strong when it
    grows from nothing) to the database at ``url``; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(seed)
    made = shapes(rng, load_routing_config())
    recipients = _recipients()
    rng = random.Random(f"{seed}-{first}")
    open_cluster: dict[str, tuple[str, datetime, int]] = {}
    # Each slice is spread over the whole span, so a data set grown in slices is as even as one
    # made at once.
    with psycopg.connect(_libpq(url)) as conn:
        rows = Rows()
        for n, at in enumerate(times(rng, 0, count, count, end)):
            report_rows(rows, rng, rng.choice(made), first + n, seed, at, end, recipients, open_cluster)
            if len(rows.rows["reports"]) >= batch:
                _copy(conn, rows)
                conn.commit()
                rows = Rows()
        _copy(conn, rows)
        # The inbox counts the router and feedback keep as they go, counted once here.
        conn.execute("DELETE FROM inbox_counts")
        conn.execute("INSERT INTO inbox_counts (destination_id, status, reports) SELECT destination_id, status, "
                     "count(*) FROM report_destinations GROUP BY destination_id, status")
        conn.execute("INSERT INTO inbox_counts (destination_id, status, reports) "
                     "SELECT '*', status, count(*) FROM reports GROUP BY status")
        conn.commit()
        # What autovacuum would have done by the time the data is this old.
        conn.autocommit = True
        for table in (*Rows.COLUMNS, "inbox_counts"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dataset", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a migrated PostgreSQL database (postgresql+psycopg://...)")
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--first", type=int, default=0, help="index of the first report (to add to a data set)")
    args = parser.parse_args(argv)
    took = fill(args.url, args.reports, seed=args.seed, first=args.first)
    print(f"{args.reports} reports in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
