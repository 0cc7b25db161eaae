"""Subject access and erasure: ``python -m services.subject find|export|erase``."""
