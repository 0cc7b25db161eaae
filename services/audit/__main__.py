"""``python -m services.audit verify``: check the audit log's hash chain in the store
(``DATABASE_URL``); exits 1 and names the first broken entry if it was tampered with."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.audit import verify
from services.common.settings import CommonSettings
from services.store.db import make_engine, make_sessions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.audit", description=__doc__)
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    args = parser.parse_args(argv)
    url = args.database_url or CommonSettings().database_url
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as session:
            result = verify(session)
    finally:
        engine.dispose()
    if result.problem:
        print(f"audit log BROKEN after {result.entries} good entries: {result.problem}", file=sys.stderr)
        return 1
    print(f"audit log intact: {result.entries} entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
