"""The SQL store: a projection of what happened on Kafka, read by pages and APIs.

SQLAlchemy 2.0 models (``models``: every table, in one metadata), an engine factory and the
migration entry point (``db``), Alembic migrations (``migrations``) and the small repositories
the services call (``repository``, ``routing``, ``messages``). SQLite by default; PostgreSQL
through ``DATABASE_URL``. ``db.schema_drift`` checks that the migrations build what the models
say (tests/unit/test_store_schema.py, tests/integration/test_store_schema_postgres.py).

Who writes and who reads each table (intake and deadletters write none; deadletters reads none)::

    table              written by                                  read by
    -----------------  ------------------------------------------  ----------------------------------
    reports            router (one row per routed report)          intake (tracking, pages, Open311),
                       feedback (``status`` closed on a closure)   feedback (the contact to write to,
                       retention (personal data removed from       silent open reports), retention
                       ``contact`` after closure)
    routing_decisions  router                                      intake (tracking, pages, Open311)
    actions            feedback (team and coordinator updates)     intake (pages, Open311),
                                                                   retention (when a report closed)
    messages           feedback (claimed, sent, settled,           intake (tracking, pages, dashboard),
                       provider callbacks)                         feedback
                       retention (address and wording removed)
    opt_outs           feedback (STOP replies, provider events)    feedback
    survey_answers     feedback (informants' replies)              intake (dashboard)
    clusters           router                                      router (labels and counts)
    cluster_members    router                                      router (neighbours), intake (pages,
                                                                   cluster API)
    watch_items        router                                      intake (watch API, coordinators'
                                                                   pages), feedback (watch digests)
    erasures           subject (one row per report erased on a     subject
                       data subject's request)

Writers reach their tables through: ``routing`` (router), ``repository.record_action`` and
``messages`` (feedback), ``services.retention.purge`` (retention: personal data goes from every
table above but ``opt_outs`` and ``survey_answers``), ``services.subject.usecase`` (subject access
and erasure), ``services.keys`` (re-encrypts the encrypted columns, ``reports.contact`` and
``messages.recipient``, under a new key: same values, new ciphertext; re-keys
``messages.address_digest`` and ``opt_outs`` digests under a new digest key). Intake only reads, through
``repository``, ``routing`` and ``services.intake.pages_store``.
"""
