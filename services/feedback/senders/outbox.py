"""The local outbox: a JSON-lines file instead of a provider, for runs without credentials."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from services.feedback.senders.base import Lookup, Outgoing, Sent, Unknown


class Outbox:
    """Writes each message as a JSON line, for local runs without provider credentials.
    ``python -m services.feedback outbox`` shows them."""

    name = "outbox"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._count = 0

    async def send(self, message: Outgoing) -> Sent:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC).isoformat()
        record = {"at": now, "channel": message.channel.value, "to": message.to, "subject": message.subject,
                  "body": message.body, "reference": message.reference}
        line = json.dumps(record) + "\n"
        await asyncio.to_thread(self._append, line)
        self._count += 1
        return Sent(self.name, f"outbox-{now}-{self._count}", local=True)

    def _append(self, line: str) -> None:
        with self._path.open("a", encoding="utf-8") as f:
            f.write(line)

    async def find(self, message: Outgoing, since: datetime) -> Lookup:
        # A line is written whole or not at all: an outbox send is never ambiguous.
        return Unknown("the outbox keeps no index", no_look_up=True)

    async def close(self) -> None:
        return None
