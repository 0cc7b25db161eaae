"""The store's keys, after they change: ``python -m services.keys rotate`` re-encrypts every
encrypted value under the first ``STORE_ENCRYPTION_KEY`` (``rotate``)."""
