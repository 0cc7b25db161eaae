"""``python -m services.keys rotate|rekey-digests [--batch N]``

``rotate``  re-encrypts every encrypted value in the store (every column of an encrypted type)
            under the first key of ``STORE_ENCRYPTION_KEY``, a batch at a time, each committed.
            Put the new key first and keep the old ones after it (``NEW,OLD``), deploy, run
            ``rotate``, then drop the old keys. A run that stops is run again; the services may
            keep running meanwhile.
``rekey-digests``  recomputes every stored address digest under the first ``ADDRESS_DIGEST_KEY``:
            messages from their (decrypted) recipient; opt-outs by matching their digest to a
            known address's old digests (the legacy unkeyed one, or an older key); an opt-out
            whose address is no longer held stays as it is, and is still matched. Run it once
            after deploying keyed digests, and after each change of ``ADDRESS_DIGEST_KEY``.

Progress goes to standard error (a bar per table on a terminal, a line per batch otherwise), the
counts to standard output. ``rotate`` run again after it stopped skips what is already under the
first key: it resumes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from sqlalchemy.engine import Engine

from services.common.logging import get_logger
from services.common.process import configure_process
from services.common.settings import CommonSettings
from services.keys.digests import rekey_digests
from services.keys.rotate import DEFAULT_BATCH, rotate
from services.store.db import make_engine


class KeySettings(CommonSettings):
    """The store's settings; the development key may stay behind the first key here, to be
    rotated away from."""

    RETIRING_DEVELOPMENT_KEYS: ClassVar[bool] = True


Report = Callable[[str, int, int], None]


@contextmanager
def _progress() -> Iterator[Report]:
    """``report(table, rows done, rows in the table)``: a bar per table on a terminal, else a line."""
    console = Console(stderr=True)
    if not console.is_terminal:
        def line(table: str, done: int, total: int) -> None:
            print(f"{table}: {done}/{total} rows", file=sys.stderr, flush=True)
        yield line
        return
    with Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as bars:
        tasks: dict[str, TaskID] = {}

        def bar(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bars.add_task(table, total=total)
            bars.update(tasks[table], completed=done, total=total)
        yield bar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.keys", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["rotate", "rekey-digests"])
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    settings = KeySettings()
    configure_process(settings)
    engine = make_engine(settings.database_url)
    try:
        if args.command == "rekey-digests":
            return _rekey(engine, args.batch)
        with _progress() as report:
            counts = rotate(engine, batch=args.batch, progress=report)
    finally:
        engine.dispose()
    get_logger(__name__).info("store_keys_rotated", rows=counts.rows, rotated=counts.total(counts.rotated),
                              encrypted=counts.total(counts.encrypted), current=counts.total(counts.current),
                              changed_meanwhile=counts.total(counts.changed_meanwhile),
                              unreadable=counts.total(counts.unreadable))
    for name in sorted({*counts.rotated, *counts.encrypted, *counts.current, *counts.changed_meanwhile,
                        *counts.unreadable}):
        print(f"{name}: {counts.rotated.get(name, 0)} re-encrypted, {counts.encrypted.get(name, 0)} plain value(s) "
              f"encrypted, {counts.current.get(name, 0)} already under the first key, "
              f"{counts.changed_meanwhile.get(name, 0)} changed meanwhile (already current), "
              f"{counts.unreadable.get(name, 0)} no key opens")
    print(f"{counts.rows} row(s) read")
    return 1 if counts.total(counts.unreadable) else 0


def _rekey(engine: Engine, batch: int) -> int:
    with _progress() as report:
        done = rekey_digests(engine, batch=batch, progress=report)
    get_logger(__name__).info("address_digests_rekeyed", **vars(done))
    print(f"messages: {done.messages_rekeyed} re-keyed, {done.messages_current} already current")
    print(f"opt_outs: {done.opt_outs_rekeyed} re-keyed ({done.opt_outs_merged} merged with a newer row), "
          f"{done.opt_outs_current} already current, {done.opt_outs_unknown} kept under their digest "
          "(their address is no longer held; still matched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
