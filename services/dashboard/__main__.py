"""``python -m services.dashboard``: recompute every month of the public dashboard's figures (the
router keeps the months that change up to date; this rebuilds them all, e.g. after an upgrade).
The command is the caller that reads the clock; the store takes the time from it."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from services.common.process import configure_process
from services.common.settings import CommonSettings
from services.store.dashboard import every_month, refresh
from services.store.db import make_engine, make_sessions


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    argparse.ArgumentParser(prog="python -m services.dashboard", description=__doc__).parse_args(argv)
    settings = CommonSettings()
    configure_process(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessions(engine)() as session:
            done = refresh(session, every_month(session), now or datetime.now(UTC))
    finally:
        engine.dispose()
    print(f"dashboard: {done} month(s) recomputed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
