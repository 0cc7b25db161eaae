"""Who is asking, as FastAPI dependencies: the JSON API knows a principal by its ``X-API-Key``,
the pages by the signed session cookie. Whether that principal may do a thing is decided once, by
``usecases.authorise``; ``require`` (API) and ``signed_in`` (pages) only say the refusal their
way: 401/403 JSON, or a redirect to sign in.

    Recorder = Annotated[Principal, Depends(require(Permission.RECORD_ACTION))]
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Header, HTTPException, Request, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.intake.access import Principal
from services.intake.context import Context
from services.intake.permissions import Permission
from services.intake.usecases import Forbidden, IntakeError, Unauthenticated, authorise

COOKIE = "mecc_session"


def context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(context)]
ApiKey = Annotated[str | None, Header(alias="X-API-Key", description="Organisation or team API key.")]


# ---- the JSON API: X-API-Key ---------------------------------------------------------------------


def api_principal(ctx: Ctx, api_key: ApiKey = None) -> Principal | None:
    """Whose ``X-API-Key`` this is; None for a missing or unknown one."""
    return ctx.access.authenticate(api_key)


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency: the caller, if its key's role has ``permission``; else 401 (no or unknown key)
    or 403 (a key whose role may not)."""

    def dependency(principal: Annotated[Principal | None, Depends(api_principal)]) -> Principal:
        try:
            return authorise(principal, permission)
        except Unauthenticated as exc:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
        except Forbidden as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc

    return dependency


# ---- the pages: the signed session cookie ---------------------------------------------------------

Session = dict[str, Any]


def serializer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.settings.session_secret, salt="mecc-pages-session")


def new_session(principal_id: str | None = None, staff: dict[str, Any] | None = None) -> Session:
    """A fresh session (a new CSRF token too), signed in as ``principal_id`` (a shared key's unit),
    as a person (``staff``: their validated claims ``sub``, ``name`` and groups), or as nobody."""
    session: Session = {"csrf": secrets.token_urlsafe(24), "p": principal_id}
    if staff is not None:
        session["s"] = staff
    return session


def page_session(request: Request, ctx: Ctx) -> Session:
    """The session the cookie holds, if it is ours and not expired; else a new one."""
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = serializer(ctx).loads(raw, max_age=ctx.settings.session_max_age_seconds)
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                return data
        except BadSignature:
            pass
    return new_session()


PageSession = Annotated[Session, Depends(page_session)]


def session_principal(ctx: Context, session: Session) -> Principal | None:
    """Who the session is signed in as (None if nobody, or a principal no longer configured).
    A person's role is worked out afresh from their groups on every request."""
    staff = session.get("s")
    if isinstance(staff, dict):
        return ctx.access.staff(staff)
    principal_id = session.get("p")
    return ctx.access.principal(principal_id) if principal_id else None


class SignInRequired(Exception):
    """The page needs someone of another kind signed in: the pages answer with a redirect."""

    def __init__(self, next_url: str, session: Session) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.session = session


def signed_in(permission: Permission, next_url: str | None = None) -> Callable[..., Principal]:
    """A dependency for pages: the signed-in principal, if their role has ``permission``; else
    SignInRequired, which sends the browser to sign in and come back to ``next_url`` (default: this page)."""

    def dependency(request: Request, ctx: Ctx, session: PageSession) -> Principal:
        try:
            return authorise(session_principal(ctx, session), permission)
        except IntakeError as exc:
            raise SignInRequired(next_url or quote(request.scope["path"]), session) from exc

    return dependency
