"""Prometheus metrics every service exposes at ``/metrics`` (intake: FastAPI; router and
feedback: faust's web server). Defined once here so the names and labels stay the same in
every process; each process only moves the ones that concern it.

Labels never hold personal data: topics, destinations, channels, statuses and reasons only.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

REPORTS_RECEIVED = Counter(
    "mecc_reports_received_total", "Reports the intake accepted (the broker acknowledged them)", ["kind"])
REPORTS_REFUSED = Counter(
    "mecc_reports_refused_total", "Requests the intake refused, by HTTP status", ["status"])
IDEMPOTENCY_KEY_REUSED = Counter(
    "mecc_idempotency_key_reused_total",
    "Requests refused because the caller's Idempotency-Key was first used with another request")
REFERENCE_CONFLICTS = Counter(
    "mecc_reference_conflicts_total",
    "Routed reports whose reference another report already had (dead-lettered, never dropped)")
REPORTS_ROUTED = Counter("mecc_reports_routed_total", "Contacts the router routed (redeliveries included)")
ROUTED_DESTINATIONS = Counter(
    "mecc_routed_destinations_total", "Routed items per destination", ["destination"])
MESSAGES = Counter(
    "mecc_messages_total",
    "Feedback messages by outcome: sent, failed, retrying, suppressed, opted_out, outbox, ...",
    ["channel", "status"])
LATE_OUTCOMES = Counter(
    "mecc_late_outcomes_total",
    "Send outcomes that came after their worker's lease had passed (recorded, not applied), by outcome",
    ["channel", "outcome"])
MESSAGES_SUPPRESSED = Counter(
    "mecc_messages_suppressed_total", "Messages deliberately not sent, by reason", ["reason"])
DEAD_LETTERS = Counter(
    "mecc_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "source_topic"])
TRANSIENT_RETRIES = Counter(
    "mecc_transient_retries_total", "Handler attempts retried after a passing failure (DB or broker away)",
    ["service", "error"])
EVENTS_PROCESSED = Counter(
    "mecc_events_processed_total", "Events an agent finished with (handled or dead-lettered)",
    ["service", "topic"])
CONSUMER_LAG = Gauge(
    "mecc_consumer_lag", "Messages on a partition not yet processed by this worker", ["topic", "partition"])
PUBLISH_SECONDS = Histogram(
    "mecc_publish_seconds", "Time for the broker to acknowledge an intake event",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def render() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def parse(text: str) -> dict[str, float]:
    """Samples of a ``/metrics`` page as ``{'name{label="v",...}': value}`` (for harnesses)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = float(s.value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    found = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base == name and all(w in rest for w in want):
            found += value
    return found
