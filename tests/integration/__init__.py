"""Integration tests: real brokers, databases and local HTTP servers."""
