"""``python -m services.router``: run the router worker."""

from __future__ import annotations

from services.common.faust_worker import run
from services.router.app import app
from services.router.settings import RouterSettings


def main() -> None:
    settings = RouterSettings()
    run(app, log_level=settings.log_level, log_json=settings.log_json)


if __name__ == "__main__":
    main()
