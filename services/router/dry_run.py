"""``python -m services.router dry-run [--config DIR]``: check routing config against sample
reports before deploying it.

Reads reports as JSON lines on stdin, in the shape of the intake's public report body
(``category``, ``description``, ``location``, ``informant``...) plus optional ``kind``
(``public`` or ``third_party``; a third party's ``reporter``, ``subject`` and
``organisation_id`` may be given) and ``reference``. Prints one JSON line per report: the
destinations, areas, flags, reasons, what each watch would see with the redactions
applied, and what the informant would be told (``informant_message``: the acknowledgement the
feedback worker sends, with a partner's redirect message for matters that are not for the
police; by SMS unless the informant chose email; ``would_send`` is false when there is nobody
to send it to). Warnings about the config (an area inside an area that is not its parent)
are printed on stderr before the decisions. Nothing is published and no database is
touched, so clusters are not worked out (``"cluster": "skipped"``).

Exit status: 0 when every line routed, 1 when a line was not a valid report (its error is
printed in its place, naming fields, not echoing values), 2 when the config is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from schemas import Channel, Informant, PublicContact, ReportDetails, RoutedItem, ThirdPartyContact
from schemas.events import reference_from_key
from services.common.config_files import DEFAULT_ROUTING_DIR, ConfigError
from services.common.logging import configure_logging
from services.feedback.templates import acknowledgement
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import Contact, decide, routed_item, watch_items

CLUSTER_SKIPPED = "skipped: clustering needs the store, which a dry run does not touch"


class BadLine(ValueError):
    pass


def _fields(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(report)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def contact_from(data: Any, line_no: int, raw: str) -> Contact:
    """A contact event from one input line, as the intake would have built it."""
    if not isinstance(data, dict):
        raise BadLine("each line must be a JSON object")
    data = dict(data)
    kind = data.pop("kind", "public")
    reference = data.pop("reference", None) or reference_from_key(f"dry-run:{line_no}:{raw}")
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:dry-run:{reference}")
    try:
        if kind == "public":
            informant = data.pop("informant", None)
            return PublicContact(
                event_id=event_id, reference=reference, report=ReportDetails.model_validate(data),
                informant=Informant.model_validate(informant) if informant is not None else None,
            )
        if kind == "third_party":
            reporter = data.pop("reporter", None) or data.pop("informant", None) or {}
            subject = data.pop("subject", None)
            return ThirdPartyContact(
                event_id=event_id, reference=reference,
                organisation_id=data.pop("organisation_id", "dry-run"),
                subject_consents_to_contact=bool(data.pop("subject_consents_to_contact", False)),
                report=ReportDetails.model_validate(data),
                reporter=Informant.model_validate(reporter),
                subject=Informant.model_validate(subject) if subject is not None else None,
            )
    except ValidationError as exc:
        raise BadLine(_fields(exc)) from None
    raise BadLine("kind: must be public or third_party")


def informant_message(contact: Contact, item: RoutedItem, config: RoutingConfig) -> dict[str, Any]:
    """What the informant (a third party's reporter) would be told: the feedback worker's own
    acknowledgement template, so a partner's redirect message reads exactly as sent."""
    informant = contact.informant if isinstance(contact, PublicContact) else contact.reporter
    chosen = informant.channel_to_use() if informant is not None else None
    channel = chosen or Channel.SMS
    found = config.categories.categories.get(contact.report.category)
    rendered = acknowledgement(channel, reference=item.reference,
                               category_label=found.label if found else contact.report.category,
                               destinations=item.destinations, notice=item.informant_notice)
    return {"channel": channel.value, "would_send": chosen is not None, "text": rendered.body}


def route_line(contact: Contact, config: RoutingConfig) -> dict[str, Any]:
    decision = decide(contact, config)
    item = routed_item(contact, config, decision=decision)
    for_watches = watch_items(item, config)
    return {
        "reference": item.reference,
        "kind": contact.kind,
        "category": contact.report.category,
        "destinations": [{"kind": d.kind.value, "id": d.id, "name": d.name} for d in item.destinations],
        "areas": [a.id for a in item.areas],
        "flags": [f.value for f in item.flags],
        "sensitive": item.sensitive,
        "sensitive_reason": item.sensitive_reason,
        "reasons": list(item.reasons),
        "informant_notice": item.informant_notice,
        "informant_message": informant_message(contact, item, config),
        "watch_items": [
            {
                "watch_id": w.watch_id,
                "delivery": w.delivery.value,
                "coordinator_ids": list(w.coordinator_ids),
                "description": w.description,
                "location": w.location.model_dump(),
                "redactions": list(w.redactions),
            }
            for w in for_watches
        ],
        "redactions": sorted({r for w in for_watches for r in w.redactions}),
        "cluster": CLUSTER_SKIPPED,
        "rules_version": item.rules_version,
    }


def run(lines: Iterable[str], config: RoutingConfig, out: TextIO) -> int:
    """Route every line; the exit status (0, or 1 if any line was not a valid report)."""
    status = 0
    for line_no, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            contact = contact_from(json.loads(text), line_no, text)
            result: dict[str, Any] = {"line": line_no, **route_line(contact, config)}
        except json.JSONDecodeError as exc:
            result, status = {"line": line_no, "error": f"not JSON: {exc.msg} at column {exc.colno}"}, 1
        except BadLine as exc:
            result, status = {"line": line_no, "error": str(exc)}, 1
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.router dry-run",
                                     description="Route JSON-lines reports from stdin and print the decisions.")
    parser.add_argument("--config", type=Path, default=DEFAULT_ROUTING_DIR,
                        help=f"routing config directory (default: {DEFAULT_ROUTING_DIR})")
    args = parser.parse_args(argv)
    # stdout carries only decisions; the config's warnings are printed below, once.
    configure_logging("ERROR", json=False, stream=sys.stderr)
    try:
        config = load_routing_config(args.config)
    except ConfigError as exc:
        print(f"invalid routing config:\n{exc}", file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return run(sys.stdin, config, sys.stdout)
