"""Upgrading the store removes the places (exact point, full postcode) of sensitive reports that
were clustered before the router stopped clustering them; other reports keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Cluster, ClusterMember, Report

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def test_the_upgrade_removes_the_clustered_places_of_sensitive_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url, "0015")
    engine = make_engine(url)
    sessions = make_sessions(engine)
    with sessions.begin() as s:
        for reference, category, sensitive in (("MECC-AAAA-AAAA", "domestic-abuse", True),
                                               ("MECC-BBBB-BBBB", "speeding", False)):
            s.add(Report(reference=reference, kind="public", category=category, received_at=AT, contact={},
                         status="open", sensitive=sensitive))
            s.add(Cluster(id=f"cluster-{reference}", category=category, label="MK42 7", created_at=AT))
            s.flush()
            s.add(ClusterMember(reference=reference, cluster_id=f"cluster-{reference}", category=category,
                                latitude=52.1, longitude=-0.5, postcode="MK42 7AB", received_at=AT))

    migrate(url)

    with sessions.begin() as s:
        assert list(s.scalars(select(ClusterMember.reference))) == ["MECC-BBBB-BBBB"]
        assert list(s.scalars(select(Cluster.id))) == ["cluster-MECC-BBBB-BBBB"]
    engine.dispose()
