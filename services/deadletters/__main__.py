"""``python -m services.deadletters list|replay [--topic router.dead-letters] [--since ...]``

``list`` shows each dead letter's position, service, source topic/partition/offset, size and
reason, never its payload (it may hold personal data; reasons are masked as well).
``replay`` publishes the original bytes, with their original key, back onto their source topic,
for after a fix: the handlers are idempotent, so a letter replayed twice changes nothing twice.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import ValidationError

from schemas import DeadLetter
from schemas.topics import FEEDBACK_DEAD_LETTERS, ROUTER_DEAD_LETTERS
from services.common.kafka_security import KafkaSecurity, kafka_python_options
from services.common.logging import mask_text

TOPICS = (ROUTER_DEAD_LETTERS.name, FEEDBACK_DEAD_LETTERS.name)


@dataclass(frozen=True)
class Letter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    letter: DeadLetter

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.letter.original_b64)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC if no zone), or an age such as ``30m``, ``2h``, ``7d``."""
    now = now or datetime.now(UTC)
    if m := re.fullmatch(r"(\d+)([smhd])", text.strip()):
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return now - timedelta(**{unit: int(m.group(1))})
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def read(bootstrap: str, topics: tuple[str, ...], since: datetime | None = None,
         security: KafkaSecurity | None = None) -> Iterator[Letter]:
    """Every dead letter now on ``topics`` (from the beginning), failed at or after ``since``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=2000, **kafka_python_options(security))
    try:
        parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not parts:
            return
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        remaining = {tp for tp in parts if end[tp] > 0}
        while remaining:
            batch = consumer.poll(timeout_ms=2000)
            if not batch:
                break
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= end[tp] - 1:
                        remaining.discard(tp)
                    if record.offset >= end[tp]:
                        continue
                    try:
                        letter = DeadLetter.model_validate_json(record.value)
                    except ValidationError:
                        continue  # not a dead letter: nothing to list or replay
                    if since is not None and letter.failed_at < since:
                        continue
                    yield Letter(tp.topic, tp.partition, record.offset, record.key, letter)
    finally:
        consumer.close()


def safe_reason(reason: str) -> str:
    """The reason without what could be personal: emails, phone numbers, and the parameters
    a database error quotes."""
    return mask_text(re.split(r"\[(?:SQL|parameters):", reason, maxsplit=1)[0].strip())


def describe(letter: Letter) -> str:
    d = letter.letter
    return (f"{letter.topic}/{letter.partition}@{letter.offset}  {d.failed_at.isoformat(timespec='seconds')}  "
            f"{d.service}  from {d.source_topic}/{d.partition}@{d.offset}  {len(letter.original)} bytes  "
            f"{safe_reason(d.reason)}")


def replay(bootstrap: str, letters: list[Letter], security: KafkaSecurity | None = None) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **kafka_python_options(security))
    try:
        for letter in letters:
            producer.send(letter.letter.source_topic, key=letter.key, value=letter.original).get(timeout=30)
    finally:
        producer.close()
    return len(letters)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.deadletters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--topic", action="append", choices=TOPICS,
                        help="dead-letter topic (repeatable; default: all)")
    parser.add_argument("--since", type=parse_since, help="ISO time, or an age: 30m, 2h, 7d")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    args = parser.parse_args(argv)
    security = KafkaSecurity()  # KAFKA_SECURITY_PROTOCOL etc. from the environment (the README's admin user)
    letters = list(read(args.bootstrap, tuple(args.topic or TOPICS), args.since, security))
    if args.command == "list":
        for letter in letters:
            print(describe(letter))
        print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    else:
        count = replay(args.bootstrap, letters, security)
        for letter in letters:
            print(f"replayed {letter.topic}/{letter.partition}@{letter.offset} -> {letter.letter.source_topic}")
        print(f"{count} dead letter(s) replayed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
