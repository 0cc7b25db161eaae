"""``python -m services.intake``: serve the intake API.

``python -m services.intake new-key ID --kind team --name NAME [--expires YYYY-MM-DD] [--scope P ...]``
makes a machine client's key (256 random bits), shows it once, and prints the access.yaml entry that
keeps only its digest; ``python -m services.intake hash-key KEY`` prints a key's digest;
``python -m services.intake audit verify`` checks the audit log's chain (``python -m services.audit``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvicorn
import yaml

from services.common.logging import configure_logging
from services.intake.access import Permission, PrincipalKind, hash_key, new_key
from services.intake.settings import IntakeSettings


def new_key_entry(argv: list[str]) -> str:
    """The key (shown once) and the access.yaml entry for it."""
    parser = argparse.ArgumentParser(prog="python -m services.intake new-key")
    parser.add_argument("id", help="the principal id in access.yaml, e.g. kempston-npt-crm")
    parser.add_argument("--kind", required=True, choices=[k.value for k in PrincipalKind])
    parser.add_argument("--name", required=True, help="the unit's name, as informants read it")
    parser.add_argument("--expires", type=date.fromisoformat,
                        default=(datetime.now(UTC) + timedelta(days=365)).date(), help="last day it works (UTC)")
    parser.add_argument("--scope", action="append", choices=[p.value for p in Permission],
                        help="narrow the key to these permissions (repeat); default: its role's all")
    args = parser.parse_args(argv)
    key = new_key()
    entry = {args.id: {"kind": args.kind, "name": args.name, "key_sha256": hash_key(key),
                       "expires": args.expires.isoformat(), **({"scopes": args.scope} if args.scope else {})}}
    return (f"# The key, shown this once (give it to the client; it is not stored anywhere):\n#   {key}\n"
            f"# Add under principals: in config/access.yaml (revoke it later with revoked: true):\n"
            + yaml.safe_dump(entry, sort_keys=False))


def list_keys(access_config: Path, database_url: str, today: date) -> str:
    """Every API key of access.yaml: its unit, kind, scopes, when it expires, and when it was last used."""
    from services.intake.access import Access
    from services.store import key_uses
    from services.store.db import make_engine, make_sessions

    principals = Access.from_file(access_config).principals
    engine = make_engine(database_url)
    try:
        with make_sessions(engine)() as session:
            used = key_uses.last_uses(session)
    finally:
        engine.dispose()
    lines = []
    for principal_id, entry in sorted(principals.items()):
        state = ("revoked" if entry.revoked else "expired" if entry.expires and entry.expires < today
                 else f"expires {entry.expires}" if entry.expires else "no end")
        last = used.get(principal_id)
        scopes = ",".join(sorted(entry.scopes)) if entry.scopes is not None else "all of its role"
        lines.append(f"{principal_id}  {entry.kind}  {state}  scopes: {scopes}  last used: "
                     f"{last.isoformat(timespec='minutes') if last else 'never'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "hash-key":
        print(hash_key(sys.argv[2]))
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "audit":
        from services.audit.__main__ import main as audit_main

        raise SystemExit(audit_main(sys.argv[2:]))
    if len(sys.argv) == 2 and sys.argv[1] == "keys":
        settings = IntakeSettings()
        print(list_keys(settings.access_config, settings.database_url, datetime.now(UTC).date()), end="")
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "new-key":
        print(new_key_entry(sys.argv[2:]), end="")
        return
    settings = IntakeSettings()
    configure_logging(settings.log_level, json=settings.log_json)
    # The app is built by its factory in the server's process; create_app configures logging again.
    # httptools: uvicorn's HTTP/1.1 parser in C (h11, its default without it, is pure Python).
    uvicorn.run("services.intake.app:app_factory", factory=True, host=settings.intake_host,
                port=settings.intake_port, log_config=None, access_log=False, loop=settings.event_loop,
                http="httptools")


if __name__ == "__main__":
    main()
