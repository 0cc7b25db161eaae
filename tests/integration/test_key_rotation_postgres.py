"""On PostgreSQL: a seeded store rotated under ``NEW,OLD`` (interrupted once, then finished)
reads back with the new key alone (tests/unit/test_key_rotation.py says what is checked)."""

from __future__ import annotations

import uuid
from contextlib import suppress

import pytest

from infra import postgres as local_postgres
from services.store import crypto
from services.store.db import make_engine, make_sessions, migrate
from tests.unit.test_key_rotation import OLD, check_rotation

pytestmark = pytest.mark.integration


def test_rotation_reencrypts_a_seeded_store_under_the_new_key(postgres_server: str) -> None:
    name = f"mecc_rotate_{uuid.uuid4().hex[:8]}"
    url = local_postgres.create_database(postgres_server, name)
    engine = make_engine(url)
    crypto.configure(OLD)
    try:
        migrate(url)
        check_rotation(make_sessions(engine), engine)
    finally:
        crypto.configure("")
        engine.dispose()
        with suppress(Exception):
            local_postgres.drop_database(postgres_server, name)
