"""Signing in and out, and the CSRF check: a signed cookie (``auth.page_session``) names a session
kept on the server and holds a CSRF token that every state-changing form echoes back. Staff sign in
with their organisation account (OpenID Connect) or a shared key; failed sign-ins are throttled."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.logging import get_logger
from services.intake import pages_views
from services.intake.access import PrincipalKind
from services.intake.auth import (
    Ctx,
    PageSession,
    Session,
    SignInRequired,
    TooManySignInFailures,
    check_throttle,
    client_of,
    end_session,
    new_session,
    start_session,
)
from services.intake.oidc import SignInFailed
from services.intake.pages.render import message, read_form, redirect, render, set_cookie
from services.intake.ratelimit import retry_after
from services.store import staff as staff_store

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)


class SessionExpired(Exception):
    """A form came back without this session's CSRF token."""

    def __init__(self, session: Session) -> None:
        super().__init__("session expired")
        self.session = session


async def checked_form(request: Request, session: PageSession) -> dict[str, str]:
    """A dependency: the posted form, if it echoes this session's CSRF token; else SessionExpired."""
    form = await read_form(request)
    given = form.get("csrf_token")
    if not (isinstance(given, str) and hmac.compare_digest(given.encode(), session["csrf"].encode())):
        raise SessionExpired(session)
    return form


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def install(app: FastAPI) -> None:
    """Answer a page's refusals: a form without its CSRF token, or nobody (suitable) signed in."""

    async def expired(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SessionExpired)
        return message(request, exc.session, 403, "Your session has expired",
                       "For your security, the form could not be sent. Go back, reload the page and try again.")

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return redirect(request, f"/sign-in?next={exc.next_url}", exc.session)

    app.add_exception_handler(SessionExpired, expired)
    app.add_exception_handler(SignInRequired, sign_in_first)


def safe_next(url: str) -> str:
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc and url.startswith("/") else "/inbox"


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, ctx: Ctx, session: PageSession, next: str = "/inbox") -> HTMLResponse:
    return render(request, session, "sign_in.html", form=pages_views.FormState(), next=safe_next(next),
                  oidc=ctx.oidc is not None, keys=ctx.settings.key_sign_in)


@router.get("/sign-in/oidc")
async def sign_in_oidc(request: Request, ctx: Ctx, session: PageSession, next: str = "/inbox") -> Response:
    """Staff sign-in: off to the organisation's OpenID provider (authorization code with PKCE)."""
    if ctx.oidc is None:
        return message(request, session, 404, "Page not found", "Sign-in with an organisation account is not set up.")
    started = await ctx.oidc.begin(safe_next(next))
    response = RedirectResponse(started.url, status_code=303)
    set_cookie(request, response, {**session, "oidc": started.pending})
    return response


@router.get("/sign-in/callback")
async def sign_in_callback(request: Request, ctx: Ctx, session: PageSession) -> Response:
    """The provider sends the browser back here with a code: exchange it, validate the ID token,
    and sign the person in with the role their groups give them."""
    if ctx.oidc is None:
        return message(request, session, 404, "Page not found", "Sign-in with an organisation account is not set up.")
    client = client_of(request, ctx)
    try:
        check_throttle(ctx, client)
    except TooManySignInFailures as exc:
        return too_many(request, exc)
    pending = session.get("oidc")
    try:
        claims = await ctx.oidc.finish(pending, dict(request.query_params))
    except SignInFailed as exc:
        ctx.sign_ins.failed(client)
        log.warning("oidc_sign_in_failed", reason=str(exc), client=client)
        return message(request, new_session(), 401, "You are not signed in",
                       "Signing in did not complete. Go back to the sign-in page and try again.")
    person = str(claims["sub"])
    account = f"person:{person}"
    try:
        check_throttle(ctx, client, account)
    except TooManySignInFailures as exc:
        return too_many(request, exc)
    staff_claims = {"sub": person, "name": claims.get("name"),
                    ctx.access.groups_claim: claims.get(ctx.access.groups_claim, [])}
    principal = ctx.access.staff(staff_claims)
    if principal is None or await ctx.store.run(staff_store.disabled, person):
        ctx.sign_ins.failed(client, account)
        log.warning("oidc_sign_in_refused", person=person, reason="disabled" if principal else "no role")
        return message(request, new_session(), 403, "You do not have access",
                       "Your account has no role in this service, or it is disabled. Ask your administrator.")
    ctx.sign_ins.succeeded(account)
    log.info("page_sign_in", principal=principal.id, kind=principal.kind.value, person=principal.person,
             role=str(principal.role))
    next_url = str(pending.get("next", "/inbox")) if isinstance(pending, dict) else "/inbox"
    if principal.kind is PrincipalKind.ORGANISATION and next_url == "/inbox":
        next_url = "/third-party/report"
    # A new session on sign-in: a new CSRF token too (no session fixation).
    return redirect(request, safe_next(next_url), await start_session(ctx, principal, client, staff_claims))


def too_many(request: Request, exc: TooManySignInFailures) -> Response:
    response = message(request, new_session(), 429, "Too many attempts to sign in",
                       "For your security, signing in is paused for a while. Try again later.")
    response.headers["Retry-After"] = retry_after(exc.wait)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm) -> Response:
    if not ctx.settings.key_sign_in:
        return message(request, session, 403, "Sign in with your organisation account",
                       "Shared keys are for machine clients only here. Sign in as yourself.")
    client = client_of(request, ctx)
    try:
        check_throttle(ctx, client)
    except TooManySignInFailures as exc:
        return too_many(request, exc)
    principal = ctx.access.authenticate(form.get("api_key", "").strip(), today=ctx.clock().date())
    next_url = safe_next(form.get("next", "/inbox"))
    if principal is None:
        ctx.sign_ins.failed(client)
        state = pages_views.FormState()
        state.add("api_key", "Enter the key you were given; that one is not recognised")
        return render(request, session, "sign_in.html", 401, form=state, next=next_url, oidc=ctx.oidc is not None,
                      keys=True)
    # A new session on sign-in: a new CSRF token too (no session fixation).
    log.info("page_sign_in", principal=principal.id, kind=principal.kind.value)
    if principal.kind is PrincipalKind.ORGANISATION and next_url == "/inbox":
        next_url = "/third-party/report"
    return redirect(request, next_url, await start_session(ctx, principal, client))


@router.post("/sign-out")
async def sign_out(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm) -> Response:
    """Ends the session on the server: the cookie, even copied elsewhere, signs nobody in any more."""
    await end_session(ctx, session)
    return redirect(request, "/sign-in", new_session())
