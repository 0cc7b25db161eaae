"""On PostgreSQL, as in production: the migrations build exactly the schema the models
describe (types, nullability, server defaults, indexes), so autogenerate proposes nothing."""

from __future__ import annotations

import pytest

from services.store.db import migrate, schema_drift

pytestmark = pytest.mark.integration


def test_a_migrated_postgres_database_matches_every_model(database_url: str) -> None:
    migrate(database_url)  # already at head: migrating again changes nothing
    assert schema_drift(database_url) == []
