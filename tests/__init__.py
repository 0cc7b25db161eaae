"""Tests: unit, integration (broker and database), contract (Prism) and end-to-end."""
