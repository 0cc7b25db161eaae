"""Engine and session factory, and the migration entry point."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from services.store.models import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_URL = "sqlite:///.local/mecc.db"

#: A pooled connection idle for longer than this is checked (``SELECT 1``) before it is used.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has been idle for ``idle_seconds``:
    what ``pool_pre_ping`` does for every checkout, which costs a busy worker a round trip (about
    a quarter of a small transaction's CPU) per transaction. A connection found dead is replaced
    (the pool's documented ``DisconnectionError`` protocol). One the server dropped while it was
    in steady use fails its next statement once; SQLAlchemy then renews the whole pool, and the
    caller's retry (the workers' retries, the intake's 503) gets a fresh connection."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection no longer answers") from exc


#: The default executor's threads (``concurrent.futures.ThreadPoolExecutor``'s own default).
EXECUTOR_THREADS = min(32, (os.cpu_count() or 1) + 4)
#: The most PostgreSQL connections one process's pool opens, kept and overflow together.
POOL_LIMIT = 10


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # several service processes share the file
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # As many kept connections as the default executor has threads (``Store.run`` calls the store
    # from them), up to the limit: a smaller pool opened and closed an overflow connection whenever
    # every thread was busy, a new PostgreSQL session each time. The limit is unchanged.
    kept = min(EXECUTOR_THREADS, POOL_LIMIT)
    engine = create_engine(url, pool_size=kept, max_overflow=POOL_LIMIT - kept)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` with Alembic."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def schema_drift(url: str) -> list[Any]:
    """What ``alembic revision --autogenerate`` would change to make the database at ``url``
    match the models (``Base.metadata``, the one metadata Alembic's env compares against): tables, columns, types,
    nullability, server defaults, indexes and constraints. Empty when migrations and models agree."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()
