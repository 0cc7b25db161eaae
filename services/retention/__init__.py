"""Removing personal data a set time after a report is closed: ``python -m services.retention``."""
