"""Pure, fast tests: no broker, no network."""
