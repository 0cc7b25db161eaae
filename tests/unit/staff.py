"""Signing a person in for page tests, as a completed OpenID sign-in would: a server session for
their validated claims and a cookie naming it (the code flow itself is tested against the real
provider in tests/integration/test_staff_sign_in.py)."""

from __future__ import annotations

import secrets
from typing import Any

from services.intake.auth import COOKIE, serializer
from services.store import staff


def sign_in_as(web: Any, person: str, groups: list[str]) -> str:
    """Sign ``person`` in on the test client ``web``; the session's token."""
    ctx = web.app.state.context
    claims = {"sub": person, "name": person.title(), "groups": groups}
    principal = ctx.access.staff(claims)
    token = secrets.token_urlsafe(32)
    if principal is not None:
        with web.sessions() as s:
            staff.start(s, token, person=person, principal_id=principal.id, role=str(principal.role),
                        claims=claims, client="testclient", now=ctx.clock())
    web.cookies.clear()
    web.cookies.set(COOKIE, serializer(ctx).dumps({"csrf": "test-csrf-token", "sid": token}))
    return token
