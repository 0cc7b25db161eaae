"""``python -m services.feedback``: run the feedback worker.
``python -m services.feedback outbox [--follow]``: show the messages a local run would have sent."""

from __future__ import annotations

import argparse
import json
import time
from contextlib import suppress
from pathlib import Path


def show_outbox(path: Path, follow: bool) -> None:
    """Print each message in the local outbox, and new ones as they arrive with --follow."""
    print(f"Outbox: {path}  (messages that would have been sent)\n")
    position = 0
    while True:
        if path.exists():
            with path.open(encoding="utf-8") as f:
                f.seek(position)
                for line in f:
                    m = json.loads(line)
                    subject = f"  subject: {m['subject']}\n" if m.get("subject") else ""
                    print(f"── {m['at']}  {m['channel'].upper()} to {m['to']}  ({m.get('reference')})\n"
                          f"{subject}{m['body']}\n", flush=True)
                position = f.tell()
        if not follow:
            return
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.feedback")
    parser.add_argument("command", nargs="?", choices=["worker", "outbox"], default="worker")
    parser.add_argument("--follow", "-f", action="store_true", help="with outbox: keep watching")
    args = parser.parse_args()
    from services.feedback.settings import FeedbackSettings

    settings = FeedbackSettings()
    if args.command == "outbox":
        with suppress(KeyboardInterrupt):
            show_outbox(settings.outbox_path, args.follow)
        return
    import sys

    from services.common.faust_worker import run
    from services.feedback.app import create_app

    sys.argv = sys.argv[:1]
    run(create_app(settings), log_level=settings.log_level, log_json=settings.log_json,
        event_loop=settings.event_loop)


if __name__ == "__main__":
    main()
