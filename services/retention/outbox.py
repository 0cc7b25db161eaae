"""The local outbox file (``OUTBOX_PATH``, JSON lines written by the feedback worker when it has
no provider credentials) holds addresses and wordings like the ``messages`` table, so retention
prunes it too: a line goes when its report is due, or when it is older than the retention period."""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path


def _keep(line: str, due: Collection[str], cutoff: datetime) -> bool:
    try:
        record = json.loads(line)
        at = datetime.fromisoformat(record["at"])
    except (ValueError, KeyError, TypeError):
        return False  # unreadable: nothing says how old it is, so it goes
    return record.get("reference") not in due and at >= cutoff


def prune_outbox(path: Path, *, due: Collection[str], now: datetime, older_than: timedelta) -> int:
    """Remove the lines of due reports and lines older than ``now - older_than``; returns how
    many went. Lines appended while it runs are kept."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    kept = [line for line in lines if line.strip() and _keep(line, due, now - older_than)]
    removed = sum(1 for line in lines if line.strip()) - len(kept)
    if removed == 0:
        return 0
    temporary = path.with_name(path.name + ".pruning")
    with temporary.open("wb") as out:
        out.write("".join(kept).encode("utf-8"))
        with path.open("rb") as current:  # whatever the worker appended meanwhile
            current.seek(len(data))
            out.write(current.read())
    os.replace(temporary, path)
    return removed
