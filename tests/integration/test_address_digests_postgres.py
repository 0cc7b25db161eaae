"""On PostgreSQL: a store written with unkeyed digests is re-keyed, and every opt-out still obeyed
(tests/unit/test_address_digests.py says what is checked)."""

from __future__ import annotations

import uuid
from contextlib import suppress

import pytest

from infra import postgres as local_postgres
from services.store import crypto
from services.store.db import make_engine, migrate
from tests.unit.test_address_digests import KEY, check_rekeying

pytestmark = pytest.mark.integration


def test_a_legacy_store_is_rekeyed_and_every_opt_out_still_obeyed(postgres_server: str) -> None:
    name = f"mecc_digests_{uuid.uuid4().hex[:8]}"
    url = local_postgres.create_database(postgres_server, name)
    engine = make_engine(url)
    crypto.configure_digests(KEY)
    try:
        migrate(url)
        check_rekeying(engine)
    finally:
        engine.dispose()
        with suppress(Exception):
            local_postgres.drop_database(postgres_server, name)
