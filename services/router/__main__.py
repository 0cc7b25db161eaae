"""``python -m services.router``: run the router worker.

``python -m services.router dry-run [--config DIR]``: route reports read as JSON lines on
stdin and print each decision (with what the informant would be told), and the config's
warnings on stderr, touching neither Kafka nor a database (see ``dry_run``).
"""

from __future__ import annotations

import sys

USAGE = """usage: python -m services.router [worker]
       python -m services.router dry-run [--config DIR] < reports.jsonl"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "dry-run":
        from services.router.dry_run import main as dry_run

        raise SystemExit(dry_run(args[1:]))
    if args and args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return
    if args and args[0] != "worker":
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)

    # Imported here: a dry run needs neither faust nor the store.
    from services.common.config_files import ConfigError
    from services.common.faust_worker import run
    from services.router.app import create_app
    from services.router.settings import RouterSettings

    settings = RouterSettings()
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"invalid routing config, not starting:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    run(app, log_level=settings.log_level, log_json=settings.log_json, event_loop=settings.event_loop)


if __name__ == "__main__":
    main()
