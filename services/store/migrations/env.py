"""Alembic environment: runs against the connection ``services.store.db.migrate`` hands over,
or against ``sqlalchemy.url`` when invoked from the alembic command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from services.store.models import Base  # every table: models.py holds them all

config = context.config
target_metadata = Base.metadata

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True, compare_server_default=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          compare_type=True, compare_server_default=True)
        with context.begin_transaction():
            context.run_migrations()
