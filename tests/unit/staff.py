"""Signing a person in for page tests, as a completed OpenID sign-in would (the code flow itself is
tested against the real provider in tests/integration/test_staff_sign_in.py)."""

from __future__ import annotations

from typing import Any

from itsdangerous import URLSafeTimedSerializer

from services.intake.auth import COOKIE


def sign_in_as(web: Any, person: str, groups: list[str], secret: str = "s") -> None:
    cookie = URLSafeTimedSerializer(secret, salt="mecc-pages-session").dumps(
        {"csrf": "matrix-csrf-token", "p": None, "s": {"sub": person, "name": person.title(), "groups": groups}})
    web.cookies.set(COOKIE, cookie)
