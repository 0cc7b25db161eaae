"""The store's connection pool on PostgreSQL: a pooled connection the server dropped while it sat
idle is replaced before anyone uses it; one dropped while in steady use (not checked, to save a
round trip per transaction) fails one statement, and the pool is renewed for the next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from services.store.db import make_engine, make_sessions

pytestmark = pytest.mark.integration


def _backend(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database_url: str, pid: int) -> None:
    admin = make_engine(database_url)
    try:
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


@contextmanager
def _dropped_connection(database_url: str, ping_after_idle: float) -> Iterator[tuple[sessionmaker[Session], int]]:
    """A pool whose one connection has just been dropped by the server, and that connection's backend."""
    engine = make_engine(database_url, ping_after_idle=ping_after_idle)
    try:
        sessions = make_sessions(engine)
        first = _backend(sessions)
        _terminate(database_url, first)
        yield sessions, first
    finally:
        engine.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(database_url: str) -> None:
    with _dropped_connection(database_url, ping_after_idle=0.0) as (sessions, first):  # every one counts as idle
        assert _backend(sessions) != first  # no error: the dead connection was found and replaced


def test_a_connection_dropped_in_steady_use_fails_once_then_the_pool_is_renewed(database_url: str) -> None:
    with _dropped_connection(database_url, ping_after_idle=3600.0) as (sessions, first):  # every one counts as busy
        with pytest.raises(DBAPIError) as failed:
            _backend(sessions)
        assert failed.value.connection_invalidated
        assert _backend(sessions) != first
