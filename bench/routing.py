"""How fast the router decides as a force's config grows.

    python -m bench.routing [--reports N] [--sizes 10,5000] [--repeat R]   (or: make bench)

Generates synthetic routing configs with the given numbers of areas (a force, sectors, and a
grid of neighbourhoods with a team, a local rule and a postcode sector per few of them, and a
watch per few), then routes the same reports through each: the full pure path the worker runs
per report (place it, apply rules and watches, build the routed item and redact the watch
items), without Kafka or the store. Prints a table and a JSON document; the best of
``--repeat`` runs is reported, so a busy machine shows its quietest moment.

Areas are found through shapely's STRtree and rules and watches through a (category, area)
index, so decisions per second should stay about flat from 10 areas to 5,000.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from schemas import Informant, Location, PublicContact, ReportDetails, ThirdPartyContact
from schemas.events import reference_from_key
from services.common.config_files import DEFAULT_ROUTING_DIR
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import routed_item, watch_items

#: The synthetic force's bounds (lon/lat), around Bedford.
WEST, EAST, SOUTH, NORTH = -0.70, -0.30, 52.00, 52.26
LOCAL = ["anti-social-behaviour", "speeding", "drugs", "suspicious-activity", "vehicle-crime",
         "burglary-concern", "criminal-damage"]
WATCHED = ["speeding", "burglary-concern", "suspicious-activity", "vehicle-crime", "criminal-damage"]
POSTCODE_SECTORS = [f"AB{d} {s}" for d in range(1, 10) for s in range(10)]


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def _patches(items: list[str], size: int | None, count: int | None) -> list[list[str]]:
    """``items`` cut into consecutive patches: of ``size`` each, or into exactly ``count``."""
    if count is not None:
        count = max(1, min(count, len(items)))
        return [items[k * len(items) // count:(k + 1) * len(items) // count] for k in range(count)]
    assert size is not None
    return [items[k * size:(k + 1) * size] for k in range(math.ceil(len(items) / size))]


def write_config(directory: Path, n_areas: int, *, n_teams: int | None = None,
                 n_watches: int | None = None) -> dict[str, int]:
    """A valid routing config with ``n_areas`` areas in ``directory``; returns its sizes.

    By default a neighbourhood team per 5 neighbourhoods and a watch per 4; ``n_teams`` (in
    all, with the 6 force-wide teams) and ``n_watches`` fix those numbers instead, each
    neighbourhood still covered by exactly one local team and one watch."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULT_ROUTING_DIR / "categories.yaml", directory / "categories.yaml")
    n_sectors = max(1, n_areas // 100)
    n_neighbourhoods = n_areas - 1 - n_sectors
    cols = max(1, round(math.sqrt(n_neighbourhoods * (EAST - WEST) / (NORTH - SOUTH))))
    cols = max(cols, n_sectors)
    rows = math.ceil(n_neighbourhoods / cols)
    width, height = (EAST - WEST) / cols, (NORTH - SOUTH) / rows

    def column_x(c: int) -> float:
        return round(WEST + c * width, 9)

    features: list[dict[str, Any]] = [
        {"type": "Feature", "properties": {"id": "force", "name": "Force", "type": "force"},
         "geometry": {"type": "Polygon", "coordinates": _rect(WEST, SOUTH, EAST, NORTH)}}]
    band = [round(s * cols / n_sectors) for s in range(n_sectors + 1)]
    for s in range(n_sectors):
        features.append({"type": "Feature",
                         "properties": {"id": f"sector-{s}", "name": f"Sector {s}", "type": "sector",
                                        "parent": "force"},
                         "geometry": {"type": "Polygon",
                                      "coordinates": _rect(column_x(band[s]), SOUTH, column_x(band[s + 1]), NORTH)}})
    neighbourhoods = []
    for i in range(n_neighbourhoods):
        r, c = divmod(i, cols)
        sector = next(s for s in range(n_sectors) if band[s] <= c < band[s + 1])
        area_id = f"n-{i}"
        neighbourhoods.append(area_id)
        features.append({"type": "Feature",
                         "properties": {"id": area_id, "name": f"Neighbourhood {i}", "type": "neighbourhood",
                                        "parent": f"sector-{sector}"},
                         "geometry": {"type": "Polygon", "coordinates": _rect(
                             column_x(c), round(SOUTH + r * height, 9), column_x(c + 1),
                             round(SOUTH + (r + 1) * height, 9))}})
    (directory / "areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    teams: dict[str, Any] = {
        "contact-centre": {"name": "Force contact centre"},
        "control-room": {"name": "Force control room"},
        "roads": {"name": "Roads policing unit", "categories": ["speeding"]},
        "hate": {"name": "Hate crime unit", "categories": ["hate-incident"]},
        "safeguarding": {"name": "Safeguarding hub", "categories": ["domestic-abuse", "safeguarding"]},
        "rural": {"name": "Rural crime team", "categories": ["rural-crime"]},
    }
    rules: dict[str, Any] = {
        "speeding": {"categories": ["speeding"], "to": ["roads"]},
        "hate": {"categories": ["hate-incident"], "to": ["hate"]},
        "safeguarding": {"categories": ["domestic-abuse", "safeguarding"], "to": ["safeguarding"]},
        "rural": {"categories": ["rural-crime"], "to": ["rural"]},
        "council": {"categories": ["fly-tipping", "noise"], "to": ["council"]},
    }
    force_wide = len(teams)
    local_teams = None if n_teams is None else max(1, n_teams - force_wide)
    for t, patch in enumerate(_patches(neighbourhoods, 5, local_teams)):
        teams[f"npt-{t}"] = {"name": f"Neighbourhood team {t}", "areas": patch}
        rules[f"local-{t}"] = {"categories": LOCAL, "areas": patch, "to": [f"npt-{t}"]}
    watches: dict[str, Any] = {}
    for w, patch in enumerate(_patches(neighbourhoods, 4, n_watches)):
        watches[f"watch-{w}"] = {"name": f"Watch {w}", "scheme": "neighbourhood", "areas": patch,
                                 "categories": WATCHED[w % 2::2] or WATCHED, "coordinators": ["coord"],
                                 "delivery": "daily_digest"}
    (directory / "teams.yaml").write_text(yaml.safe_dump({"version": 1, "fallback": "contact-centre",
                                                          "teams": teams}, sort_keys=False))
    (directory / "watches.yaml").write_text(yaml.safe_dump({"version": 1, "watches": watches}, sort_keys=False))
    (directory / "coordinators.yaml").write_text(yaml.safe_dump(
        {"version": 1, "coordinators": {"coord": {"name": "Coordinator", "email": "watch@example.org"}}}))
    sample_rules = yaml.safe_load((DEFAULT_ROUTING_DIR / "rules.yaml").read_text())
    (directory / "rules.yaml").write_text(yaml.safe_dump({
        "version": 2, "rules": rules,
        "redirects": {"council": sample_rules["redirects"]["council-environmental-services"]},
        "danger": {**sample_rules["danger"], "team": "control-room"},
        "clustering": sample_rules["clustering"],
    }, sort_keys=False))
    (directory / "postcodes.yaml").write_text(yaml.safe_dump({
        "version": 1,
        "sectors": {s: [neighbourhoods[i * len(neighbourhoods) // len(POSTCODE_SECTORS)]]
                    for i, s in enumerate(POSTCODE_SECTORS)},
    }))
    return {"areas": len(features), "teams": len(teams), "rules": len(rules), "watches": len(watches)}


def reports(n: int, seed: int = 20261122, key_prefix: str = "bench") -> list[PublicContact | ThirdPartyContact]:
    """The same ``n`` reports for every config: points across the force, postcode-only reports,
    some with names and numbers to redact, some suggesting danger. ``key_prefix`` makes the
    references (not the reports) differ between runs that share a store."""
    rnd = random.Random(seed)
    categories = [c for c in yaml.safe_load((DEFAULT_ROUTING_DIR / "categories.yaml").read_text())["categories"]]
    texts = ["Cars racing on Bedford Road every night after 10pm",
             "My neighbour Dave Smith says vans are parked on the verge, call me on 07700 900123",
             "Youths shouting outside number 12 again, Mrs Patel is scared",
             "Someone tried car doors on Church Lane, reg AB12 CDE, email jo@example.org",
             "A man with a knife outside the shop, happening now",
             "Hare coursing in the fields off Green Lane"]
    out: list[PublicContact | ThirdPartyContact] = []
    for i in range(n):
        if rnd.random() < 0.8:
            location = Location(latitude=rnd.uniform(SOUTH, NORTH), longitude=rnd.uniform(WEST, EAST))
        else:
            location = Location(postcode=f"{rnd.choice(POSTCODE_SECTORS)}XY")
        report = ReportDetails(category=rnd.choice(categories), description=rnd.choice(texts), location=location)
        reference = reference_from_key(f"{key_prefix}:{i}")
        if rnd.random() < 0.9:
            out.append(PublicContact(reference=reference, report=report,
                                     informant=Informant(name="Jo Bloggs", phone="07700 900123")))
        else:
            out.append(ThirdPartyContact(reference=reference, report=report, organisation_id="org",
                                         reporter=Informant(email="caseworker@example.org")))
    return out


def measure(config: RoutingConfig, contacts: list[PublicContact | ThirdPartyContact], repeat: int) -> dict[str, float]:
    best = math.inf
    watch_count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        watch_count = 0
        for contact in contacts:
            item = routed_item(contact, config)
            watch_count += len(watch_items(item, config))
        best = min(best, time.perf_counter() - start)
    return {"seconds": best, "decisions_per_second": len(contacts) / best,
            "microseconds_per_decision": best / len(contacts) * 1e6, "watch_items": watch_count}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,5000", help="numbers of areas, comma-separated (default 10,5000)")
    parser.add_argument("--reports", type=int, default=2000, help="reports routed per config (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per config; the best is kept (default 3)")
    parser.add_argument("--json", type=Path, help="also write the JSON document here")
    args = parser.parse_args(argv)

    contacts = reports(args.reports)
    results = []
    with tempfile.TemporaryDirectory(prefix="mecc-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            directory = Path(tmp) / f"areas-{size}"
            sizes = write_config(directory, size)
            start = time.perf_counter()
            config = load_routing_config(directory)
            load_seconds = time.perf_counter() - start
            routed = measure(config, contacts, args.repeat)
            results.append({**sizes, "reports": len(contacts), "load_seconds": load_seconds, **routed})

    print(f"{'areas':>6} {'teams':>6} {'rules':>6} {'watches':>7} {'load s':>7} {'decisions/s':>12} "
          f"{'µs/decision':>12} {'watch items':>11}")
    for r in results:
        print(f"{r['areas']:>6} {r['teams']:>6} {r['rules']:>6} {r['watches']:>7} {r['load_seconds']:>7.2f} "
              f"{r['decisions_per_second']:>12,.0f} {r['microseconds_per_decision']:>12.1f} {r['watch_items']:>11}")
    document = {
        "benchmark": "routing decisions (pure path: place, rules, watches, routed item, watch redaction)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }
    text = json.dumps(document, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
