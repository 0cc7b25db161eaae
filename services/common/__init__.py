"""Plumbing the services share: logging, settings, Kafka helpers. No domain logic here."""
