"""The SQL store: a projection of what happened on Kafka, read by pages and APIs.

SQLAlchemy 2.0 models (``models``), an engine factory (``db``), Alembic migrations
(``migrations``) and the small repositories the services call (``repository``).
SQLite by default; PostgreSQL through ``DATABASE_URL``.
"""
