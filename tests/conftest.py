"""Shared test set-up. The real-infrastructure fixtures (Kafka, PostgreSQL) live in
``infra.fixtures``; tests that use them are integration or end-to-end tests."""

pytest_plugins = ["infra.fixtures"]
