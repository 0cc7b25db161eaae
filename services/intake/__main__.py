"""``python -m services.intake``: serve the intake API. ``python -m services.intake hash-key KEY``
prints the digest to put in config/access.yaml for a new API key."""

from __future__ import annotations

import sys

import uvicorn

from services.common.logging import configure_logging
from services.intake.access import hash_key
from services.intake.settings import IntakeSettings


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "hash-key":
        print(hash_key(sys.argv[2]))
        return
    settings = IntakeSettings()
    configure_logging(settings.log_level, json=settings.log_json)
    # The app is built by its factory in the server's process; create_app configures logging again.
    uvicorn.run("services.intake.app:app_factory", factory=True, host=settings.intake_host,
                port=settings.intake_port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
