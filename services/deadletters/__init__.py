"""Listing and replaying dead letters: ``python -m services.deadletters``."""
