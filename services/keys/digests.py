"""Re-key the stored address digests under the first ``ADDRESS_DIGEST_KEY``.

A digest is one-way: re-keying needs the address. ``messages`` hold it (``recipient``, encrypted):
each row's digest is recomputed from it, in id order, a batch at a time, each batch committed.
``opt_outs`` hold only a digest: one made from an address some message holds (under the legacy
unkeyed SHA-256, or an older key) is moved to that address's current digest (the later change
wins if both exist) and marked keyed; one whose address no message holds any more stays as it
is, and is still matched (``services.store.messages.address_digests``: every digest of an
address is looked up), so an opt-out is never lost. Re-running is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.store.messages import KEYED_DIGEST, address_digest, address_digests
from services.store.models import Message, OptOut

DEFAULT_BATCH = 500


@dataclass
class DigestCounts:
    messages_rekeyed: int = 0
    messages_current: int = 0
    opt_outs_rekeyed: int = 0
    #: Opt-outs whose old digest and current digest were both held: the later change kept.
    opt_outs_merged: int = 0
    opt_outs_current: int = 0
    #: Opt-outs whose address no message holds: kept under their digest, still matched.
    opt_outs_unknown: int = 0


def rekey_digests(engine: Engine, *, batch: int = DEFAULT_BATCH,
                  progress: Callable[[str, int, int], None] | None = None) -> DigestCounts:
    counts = DigestCounts()
    current: dict[str, str] = {}  # any digest of a known address -> its current digest
    sessions = Session(engine, autobegin=False)
    with sessions.begin():
        total = sessions.scalar(select(func.count()).select_from(Message)) or 0
    last, done = 0, 0
    while True:
        with sessions.begin():
            rows = sessions.execute(select(Message.id, Message.recipient, Message.address_digest)
                                    .where(Message.id > last).order_by(Message.id).limit(batch)).all()
            for message_id, recipient, digest in rows:
                if not recipient:
                    continue
                now = address_digest(recipient)
                for old in address_digests(recipient):
                    current[old] = now
                if digest == now:
                    counts.messages_current += 1
                    continue
                sessions.execute(update(Message).where(Message.id == message_id).values(address_digest=now)
                                 .execution_options(synchronize_session=False))
                counts.messages_rekeyed += 1
        if not rows:
            break
        last = rows[-1][0]
        done += len(rows)
        if progress is not None:
            progress("messages", done, total)
    with sessions.begin():
        opt_outs = list(sessions.execute(select(OptOut.channel, OptOut.address_digest)).all())
    for channel, digest in opt_outs:
        with sessions.begin():
            row = sessions.get(OptOut, (channel, digest))
            if row is None:
                continue
            found = current.get(digest)
            if found is None:
                counts.opt_outs_unknown += 1
                continue
            now = found
            if now == digest:
                counts.opt_outs_current += 1
                if row.digest_version != KEYED_DIGEST:
                    row.digest_version = KEYED_DIGEST
                continue
            there = sessions.get(OptOut, (channel, now))
            if there is None:
                sessions.add(OptOut(channel=channel, address_digest=now, opted_out=row.opted_out, source=row.source,
                                    changed_at=row.changed_at, digest_version=KEYED_DIGEST))
            else:
                counts.opt_outs_merged += 1
                if row.changed_at > there.changed_at:
                    there.opted_out, there.source, there.changed_at = row.opted_out, row.source, row.changed_at
                there.digest_version = KEYED_DIGEST
            sessions.delete(row)
            counts.opt_outs_rekeyed += 1
    if progress is not None:
        progress("opt_outs", len(opt_outs), len(opt_outs))
    return counts



