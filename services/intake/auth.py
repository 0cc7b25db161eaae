"""Who is asking, as FastAPI dependencies: the JSON API knows a principal by its ``X-API-Key``,
the pages by their session. Whether that principal may do a thing is decided once, by
``usecases.authorise`` over ``permissions.TABLE``; ``require`` (API) and ``signed_in`` (pages) only
say the refusal their way: 401/403 JSON, or a redirect to sign in.

    Recorder = Annotated[Principal, Depends(require(Permission.RECORD_ACTION))]

People without a force account sign in by a one-time link sent to their email
(``pages.email_sign_in``); their session is the same kind of server session.

A page session lives on the server (``services.store.staff``): the signed cookie holds the CSRF
token and a random token naming the server's row, so signing out, an account disabled or a role
change ends it at once, and idle and absolute time-outs apply there. Failed sign-ins by any
method are throttled per client address and per account (``ratelimit.SignInThrottle``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Header, HTTPException, Request, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.intake.access import Principal
from services.intake.context import Context
from services.intake.guards import client_address
from services.intake.permissions import Permission
from services.intake.ratelimit import retry_after
from services.intake.usecases import Forbidden, IntakeError, Unauthenticated, authorise
from services.store import key_uses, staff

COOKIE = "mecc_session"
#: The ``method`` claim of a session started by a one-time email link (not by the OpenID provider).
LINK_METHOD = "email_link"


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


async def context(request: Request) -> Context:
    """The ``Ctx`` dependency. Dependencies are ``async``: FastAPI runs a plain ``def`` one in its
    thread pool, a thread hop for every request."""
    return context_of(request)


Ctx = Annotated[Context, Depends(context)]
ApiKey = Annotated[str | None, Header(alias="X-API-Key", description="Organisation or team API key.")]


def client_of(request: Request, ctx: Context) -> str:
    """The asking client's address, behind the configured number of trusted proxies."""
    client = request.client
    return client_address((client.host, client.port) if client else None,
                          request.headers.get("x-forwarded-for"), ctx.settings.proxy_hops)


class TooManySignInFailures(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__("too many failed sign-ins")
        self.wait = wait


def check_throttle(ctx: Context, client: str, account: str | None = None) -> None:
    """TooManySignInFailures if this client (or account) failed to sign in too often lately."""
    wait = ctx.sign_ins.wait(client, account)
    if wait > 0:
        raise TooManySignInFailures(wait)


# ---- the JSON API: X-API-Key ---------------------------------------------------------------------


async def api_principal(request: Request, ctx: Ctx, api_key: ApiKey = None) -> Principal | None:
    """Whose ``X-API-Key`` this is; None for a missing or unknown one. An unknown key counts as a
    failed sign-in for the client; past the limit, 429 before the key is even looked at."""
    if not api_key:
        return None
    client = client_of(request, ctx)
    try:
        check_throttle(ctx, client)
    except TooManySignInFailures as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed sign-ins; try again later",
                            headers={"Retry-After": retry_after(exc.wait)}) from exc
    now = ctx.clock()
    principal = ctx.access.authenticate(api_key, today=now.date())
    if principal is None:
        ctx.sign_ins.failed(client)
    elif ctx.key_uses.due(principal.id, now):  # when it was last used, for `python -m services.intake keys`
        await ctx.store.run(key_uses.touch, principal.id, now)
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if its key's role has ``permission``; else 401 (no or unknown key)
    or 403 (a key whose role may not)."""

    async def dependency(principal: Annotated[Principal | None, Depends(api_principal)]) -> Principal:
        try:
            return authorise(principal, permission)
        except Unauthenticated as exc:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
        except Forbidden as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc

    return dependency


# ---- the pages: the session ------------------------------------------------------------------------

Session = dict[str, Any]


def serializer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.settings.session_secret, salt="mecc-pages-session")


def new_session(token: str | None = None) -> Session:
    """A fresh cookie session (a new CSRF token too), naming the server session ``token`` or none."""
    return {"csrf": secrets.token_urlsafe(24), "sid": token}


def cookie_session(request: Request, ctx: Context) -> Session:
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


async def page_session(request: Request, ctx: Ctx) -> Session:
    """The cookie's session; who it signs in (if its server session is live) is resolved once here
    and kept on ``request.state.principal`` for the dependencies and the page header."""
    session = cookie_session(request, ctx)
    request.state.principal = await resolve(ctx, session)
    return session


PageSession = Annotated[Session, Depends(page_session)]


async def resolve(ctx: Context, session: Session) -> Principal | None:
    """Who the session is signed in as: None if nobody, or the server session has ended (signed
    out, timed out, account disabled), or the person's role or unit is no longer what it was at
    sign-in (that ends the session too: they sign in again and get their new role)."""
    token = session.get("sid")
    if not isinstance(token, str) or not token:
        return None
    settings = ctx.settings
    live = await ctx.store.run(staff.load, token, now=ctx.clock(),
                               idle=timedelta(seconds=settings.session_idle_seconds),
                               absolute=timedelta(seconds=settings.session_max_age_seconds))
    if live is None:
        return None
    if live.claims is not None and live.claims.get("method") == LINK_METHOD and live.person is not None:
        name = live.claims.get("name")
        principal = ctx.access.link_person(live.person, name if isinstance(name, str) else None, live.role,
                                           live.principal_id)
        if principal is None:  # their unit is gone from access.yaml (or no longer of their role's kind)
            await ctx.store.run(staff.end, token, "role_changed", ctx.clock())
        return principal
    if live.claims is not None:
        principal = ctx.access.staff(live.claims)
        if principal is None or principal.role != live.role or principal.id != live.principal_id:
            await ctx.store.run(staff.end, token, "role_changed", ctx.clock())
            return None
        return principal
    return ctx.access.principal(live.principal_id)


async def start_session(ctx: Context, principal: Principal, client: str,
                        claims: dict[str, Any] | None = None) -> Session:
    """A new server session for ``principal`` (a person when ``claims`` are given); its cookie session."""
    token = secrets.token_urlsafe(32)
    await ctx.store.run(staff.start, token, person=principal.person, principal_id=principal.id,
                        role=str(principal.role), claims=claims, client=client, now=ctx.clock())
    return new_session(token)


async def end_session(ctx: Context, session: Session, reason: str = "signed_out") -> None:
    token = session.get("sid")
    if isinstance(token, str) and token:
        await ctx.store.run(staff.end, token, reason, ctx.clock())


def session_principal(request: Request) -> Principal | None:
    """Who ``page_session`` found signed in for this request (None before it ran, or nobody)."""
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


class SignInRequired(Exception):
    """The page needs someone of another kind signed in: the pages answer with a redirect."""

    def __init__(self, next_url: str, session: Session) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.session = session


def signed_in(permission: Permission, next_url: str | None = None) -> Callable[..., Any]:
    """A dependency for pages: the signed-in principal, if their role has ``permission``; else
    SignInRequired, which sends the browser to sign in and come back to ``next_url`` (default: this page)."""

    async def dependency(request: Request, session: PageSession) -> Principal:
        try:
            return authorise(session_principal(request), permission)
        except IntakeError as exc:
            raise SignInRequired(next_url or quote(request.scope["path"]), session) from exc

    return dependency
