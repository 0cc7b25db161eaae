"""The models and the migrations describe the same schema: a database migrated from nothing
is what the models say, so ``alembic revision --autogenerate`` has nothing to propose (and
never proposes dropping a table a service still uses)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from services.store.db import make_engine, migrate, schema_drift
from services.store.models import Base


def test_a_migrated_sqlite_database_matches_every_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    assert schema_drift(url) == []
    engine = make_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_drift_check_sees_a_table_the_migrations_lack(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE watch_items")
    engine.dispose()
    added = [diff[1].name for diff in schema_drift(url) if diff[0] == "add_table"]
    assert added == ["watch_items"]
