"""``python -m services.retention [--days N]``: remove personal data from reports
closed more than ``RETENTION_DAYS`` (default 365) days ago, keeping the anonymous statistics.
Run it daily (cron, a Kubernetes CronJob); it is idempotent."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from services.common.logging import get_logger
from services.common.process import configure_process
from services.common.settings import CommonSettings
from services.retention.purge import purge
from services.store.db import make_engine, make_sessions


class RetentionSettings(CommonSettings):
    #: Days after a report's closure before its personal data is removed.
    retention_days: float = 365.0


def main(argv: list[str] | None = None) -> int:
    settings = RetentionSettings()
    parser = argparse.ArgumentParser(prog="python -m services.retention", description=__doc__)
    parser.add_argument("--days", type=float, default=settings.retention_days)
    args = parser.parse_args(argv)
    configure_process(settings)
    engine = make_engine(settings.database_url)
    try:
        done = purge(make_sessions(engine)(), now=datetime.now(UTC), after=timedelta(days=args.days))
    finally:
        engine.dispose()
    get_logger(__name__).info("retention_done", reports=done.reports, messages=done.messages, days=args.days)
    print(f"removed personal data from {done.reports} report(s) and {done.messages} message(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
