"""The three services running as real processes against a real broker and database."""
