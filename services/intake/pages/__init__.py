"""Pages for people: server-rendered HTML (Jinja2, autoescaped), GOV.UK Design System patterns,
no JavaScript needed. One module per feature, each a thin adapter over ``usecases``:

- ``report``: ``/`` and the public form ``/report``; ``third_party``: ``/third-party/report``
  (organisations, signed in);
- ``track``: ``/track/{reference}?secret=``, an informant's own report;
- ``session``: ``/sign-in``, ``/sign-out`` and the CSRF check; ``inbox``: ``/inbox`` for teams and
  watch coordinators, each scoped to its own items;
- ``dashboard``: confidence per area and month; ``outbox``: local runs only;
- ``email_sign_in``: ``/sign-in/email`` and ``/sign-in/link``, one-time email links for people
  without a force account;
- ``publications``: "you said, we did" drafted by a team member at ``/publications``, approved by
  another person (a supervisor); approved ones only on the public ``/neighbourhoods`` pages;
- ``admin``: ``/admin/people`` for administrators (end sessions, disable accounts) and
  ``/admin/link-accounts`` (invite, disable and enable people who sign in by email link);
- ``contact``: an informant's contact details for the team (a justification first for sensitive
  reports), ``audit``: ``/audit``, the audit log for supervisors and administrators;
- ``render``: what they share (templates, the session cookie, security headers).

Forms become the same events as the JSON API, through the same use cases; who is signed in is
``auth.signed_in`` (a server-side session named by the signed cookie), checked by the same ``usecases.authorise``.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from services.intake.auth import page_session
from services.intake.pages import (
    admin,
    audit,
    contact,
    dashboard,
    email_sign_in,
    inbox,
    outbox,
    publications,
    report,
    session,
    third_party,
    track,
)
from services.intake.pages.render import GOVUK_STATIC, HERE


def install(app: FastAPI) -> None:
    """Add the pages, their refusals and their static files to the intake's app."""
    for module in (report, track, session, email_sign_in, third_party, inbox, contact, dashboard, outbox, admin, audit,
                   publications):
        # Every page knows who is signed in (its header says so), resolved once per request.
        app.include_router(module.router, dependencies=[Depends(page_session)])
    session.install(app)
    app.mount("/static/govuk", StaticFiles(directory=GOVUK_STATIC, check_dir=False), name="govuk")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
