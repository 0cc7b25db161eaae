"""``python -m services.subject find|export|erase --phone N --email A``

``find``    lists the reports and messages linked to the address (references, roles, counts).
``export``  writes everything held about the person as one JSON document (``--out`` file, or
            standard output) for a caseworker to review and hand over.
``erase``   removes the person's personal data from those reports and messages, leaving the
            statistics; ``--reason`` is required and is recorded, with ``--by``, in ``erasures``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.common.logging import get_logger
from services.common.process import configure_process
from services.common.settings import CommonSettings
from services.store.db import make_engine, make_sessions
from services.subject import usecase


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    settings = CommonSettings()
    parser = argparse.ArgumentParser(prog="python -m services.subject", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["find", "export", "erase"])
    parser.add_argument("--phone", help="the person's phone number, in any UK format")
    parser.add_argument("--email", help="the person's email address")
    parser.add_argument("--reason", help="why the data is erased (required for erase; name no address)")
    parser.add_argument("--by", default=os.environ.get("USER", "unknown"),
                        help="who asked for the export or erasure (recorded in the audit log)")
    parser.add_argument("--out", type=Path, help="export: write the JSON here rather than to standard output")
    args = parser.parse_args(argv)
    if args.command == "erase" and not (args.reason or "").strip():
        parser.error("erase needs --reason")
    try:
        subject = usecase.Subject.of(phone=args.phone, email=args.email)
    except ValueError as exc:
        parser.error(str(exc))
    configure_process(settings)
    now = now or datetime.now(UTC)
    engine = make_engine(settings.database_url)
    try:
        session = make_sessions(engine)()
        found = usecase.find(session, subject)
        if args.command == "find":
            for reference, roles in found.reports.items():
                print(f"{reference}  {', '.join(roles)}")
            print(f"{len(found.reports)} report(s), {len(found.message_ids)} message(s)", file=sys.stderr)
        elif args.command == "export":
            document = json.dumps(usecase.export(session, subject, found, now=now), indent=2, ensure_ascii=False)
            session.rollback()  # the export only read
            usecase.record_export(session, found, by=args.by, now=now)
            if args.out:
                args.out.write_text(document + "\n", encoding="utf-8")
            else:
                print(document)
        else:
            erased = usecase.erase(session, subject, found, reason=args.reason, requested_by=args.by, now=now)
            get_logger(__name__).info("subject_erased", request_id=erased.request_id, reports=len(erased.references),
                                      messages=erased.purged.messages)
            print(f"erased request {erased.request_id}: {len(erased.references)} report(s), "
                  f"{erased.purged.messages} message(s)")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
