"""The SQL store: a projection of what happened on Kafka, read by pages and APIs.

SQLAlchemy 2.0 models (``models``: every table, in one metadata), an engine factory and the
migration entry point (``db``), Alembic migrations (``migrations``) and the small repositories
the services call (``repository``, ``routing``, ``messages``). SQLite by default; PostgreSQL
through ``DATABASE_URL``. ``db.schema_drift`` checks that the migrations build what the models
say (tests/unit/test_store_schema.py, tests/integration/test_store_schema_postgres.py).

Who writes and who reads each table (deadletters writes and reads none)::

    table              written by                                  read by
    -----------------  ------------------------------------------  ----------------------------------
    reports            router (one row per routed report)          intake (tracking, pages, Open311),
                       feedback (``status`` closed on a closure)   feedback (the contact to write to,
                       retention (personal data removed from       silent open reports), retention
                       ``contact`` after closure)
    routing_decisions  router                                      intake (tracking, pages, Open311)
    report_destinations router (one row per destination),          intake (inboxes: what is listed,
                       feedback (``status`` closed on a closure)   filtered and counted)
    report_areas       router (every area a report was placed in)  intake (inbox area filter)
    inbox_counts       router (added to as reports are routed),    intake (inbox counts)
                       feedback (moved from open to closed)
    dashboard_monthly  router (a timer recomputes the months whose  intake (the public dashboard)
                       reports changed: ``dashboard``)
    actions            feedback (team and coordinator updates)     intake (pages, Open311),
                                                                   retention (when a report closed),
                                                                   router (dashboard figures)
    messages           feedback (claimed, sent, settled,           intake (tracking, pages), feedback,
                       provider callbacks)                         router (dashboard figures)
                       retention (address and wording removed)
    opt_outs           feedback (STOP replies, provider events)    feedback
    survey_answers     feedback (informants' replies)              router (dashboard figures)
    provider_events    feedback (provider callbacks acted on)      feedback (a replay changes nothing)
    clusters           router                                      router (labels and counts)
    cluster_members    router                                      router (neighbours), intake (pages,
                                                                   cluster API)
    watch_items        router                                      intake (watch API, coordinators'
                                                                   pages), feedback (watch digests)
    erasures           subject (one row per report erased on a     subject
                       data subject's request)
    staff_sessions     intake (sign-in, sign-out, time-outs,       intake (every signed-in page)
                       administrators ending them)
    staff_accounts     intake (administrators disabling people)    intake (sign-in, every page)
    audit_log          intake (collection, alteration,             intake (/audit for supervisors),
                       consultation), subject (disclosure,         ``python -m services.audit verify``
                       erasure), retention (erasure), appended
                       only, through ``services.audit.append``;
                       retention deletes the oldest past
                       ``AUDIT_RETENTION_DAYS`` (``audit.prune``)
    audit_head         every ``services.audit.append``, under      ``python -m services.audit verify``
                       its row lock (the last entry's seq, hash);
                       ``audit.prune`` (the last removed: tail)
    link_accounts      intake (administrators inviting people      intake (sign-in by email link,
                       without a force account)                    /admin/link-accounts)
    sign_in_links      intake (a link issued; used up once by a    intake (sign-in by email link)
                       conditional UPDATE)
    reference_claims   intake (each reference given out, claimed   intake (a retried idempotency key)
                       before the report is published)
    publications       intake (drafted by a team member, approved  intake (staff pages; only approved
                       or withdrawn by a supervisor: four eyes)    ones on the public pages and API)
    api_key_uses       intake (when each API key was last used,    ``python -m services.intake keys``
                       at most once a minute per key)

Writers reach their tables through: ``routing`` (router), ``repository.record_action`` and
``messages`` (feedback), ``services.retention.purge`` (retention: personal data goes from every
table above but ``opt_outs`` and ``survey_answers``), ``services.subject.usecase``
(subject access and erasure), ``staff``, ``links``, ``claims``, ``publications`` and ``key_uses`` (intake: its own
sessions and accounts, the references it gives out, the "you said, we did" drafted and approved),
``dashboard`` (router: the monthly figures), ``services.keys``
(re-encrypts the encrypted columns, ``reports.contact`` and ``messages.recipient``, under a new
key: same values, new ciphertext; re-keys ``messages.address_digest`` and ``opt_outs`` digests
under a new digest key). Otherwise intake only reads, through ``repository``, ``routing``,
``dashboard`` and ``services.intake.pages_store``.
"""
