"""``python -m services.retention [--days N] [--abandoned-days N]``: remove personal data from
every report that is due (closed or redirected more than ``RETENTION_DAYS`` ago, or abandoned:
nothing has happened to it for ``RETENTION_ABANDONED_DAYS``), with its replies, from every table
of the store, keeping the anonymous statistics. Run it daily (cron, a Kubernetes CronJob); it is
idempotent. The README's "Retention schedule" says what goes, what stays and why."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.audit import AuditAction, Entry
from services.audit import append as audit
from services.audit import prune as audit_prune
from services.common.logging import get_logger
from services.common.process import configure_process
from services.common.settings import CommonSettings, RetentionSettings
from services.retention.outbox import prune_outbox
from services.retention.purge import Policy, RecordsPolicy, purge, purge_records
from services.store.db import make_engine, make_sessions


class PurgeSettings(CommonSettings, RetentionSettings):
    """The store's settings and the retention periods."""

    #: The feedback worker's local outbox file (pruned like the ``messages`` table).
    outbox_path: Path = Path(".local/outbox.jsonl")


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    settings = PurgeSettings()
    parser = argparse.ArgumentParser(prog="python -m services.retention", description=__doc__)
    parser.add_argument("--days", type=float, default=settings.retention_days,
                        help="days after closure or a redirect (RETENTION_DAYS)")
    parser.add_argument("--abandoned-days", type=float, default=settings.retention_abandoned_days,
                        help="days without activity for a report never closed (RETENTION_ABANDONED_DAYS)")
    args = parser.parse_args(argv)
    configure_process(settings)
    policy = Policy(retention=timedelta(days=args.days), abandoned=timedelta(days=args.abandoned_days))
    engine = make_engine(settings.database_url)
    now = now or datetime.now(UTC)
    records = RecordsPolicy(sessions=timedelta(days=settings.staff_session_retention_days),
                            claim_digests=timedelta(days=settings.topic_retention_days),
                            provider_events=policy.retention)
    try:
        done = purge(make_sessions(engine)(), now=now, policy=policy)
        kept = purge_records(make_sessions(engine)(), now=now, policy=records)
        audit_pruned = audit_prune(make_sessions(engine)(), now - timedelta(days=settings.audit_retention_days))
        if done.reports or done.messages:
            audit(make_sessions(engine)(), [Entry(
                at=now, action=AuditAction.ERASURE, what="retention_purge", actor="retention",
                justification=f"{done.reports} report(s) and {done.messages} message(s) past the retention "
                              f"schedule ({args.days:g} days after closure, {args.abandoned_days:g} abandoned)")])
    finally:
        engine.dispose()
    outbox = prune_outbox(settings.outbox_path, due=set(done.due), now=now, older_than=policy.retention)
    get_logger(__name__).info("retention_done", due=len(done.due), reports=done.reports, messages=done.messages,
                              actions=done.actions, cluster_members=done.cluster_members,
                              watch_items=done.watch_items, clusters=done.clusters, outbox_lines=outbox,
                              staff_sessions=kept.sessions, claim_digests=kept.claim_digests,
                              provider_events=kept.provider_events, sign_in_links=kept.sign_in_links,
                              audit_entries=audit_pruned,
                              days=args.days,
                              abandoned_days=args.abandoned_days)
    print(f"removed personal data from {done.reports} report(s), {done.messages} message(s), "
          f"{done.actions} action(s), {done.cluster_members} cluster place(s), {done.watch_items} watch item(s) "
          f"and {done.clusters} cluster label(s), and {outbox} outbox line(s); {len(done.due)} report(s) are "
          f"past retention; removed {kept.sessions} staff session(s), {kept.claim_digests} reference claim "
          f"digest(s), {kept.provider_events} provider callback id(s), {kept.sign_in_links} sign-in link(s) and "
          f"{audit_pruned} audit log entr(y/ies) "
          f"older than {settings.audit_retention_days:g} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
