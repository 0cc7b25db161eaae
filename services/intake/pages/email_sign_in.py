"""Sign-in by a one-time email link, for people without a force account (watch coordinators,
partner organisations' caseworkers): ``/sign-in/email`` asks for the address and answers the same
whatever it is (no telling who has an account), throttled per address and per client; the link
(``/sign-in/link?token=``) opens a page whose button uses it up, so a mail scanner fetching the
link does not spend it. Administrators invite such people at ``/admin/link-accounts``."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from services.common.logging import get_logger
from services.intake import pages_views
from services.intake.access import PrincipalKind
from services.intake.auth import (
    LINK_METHOD,
    Ctx,
    PageSession,
    TooManySignInFailures,
    check_throttle,
    client_of,
    new_session,
    start_session,
)
from services.intake.pages.render import message, redirect, render
from services.intake.pages.session import CheckedForm, too_many
from services.intake.ratelimit import retry_after
from services.intake.usecases import plausible_email, request_sign_in_link, sign_in_with_link
from services.store.links import normalise

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/sign-in/email", response_class=HTMLResponse)
async def email_form(request: Request, session: PageSession) -> HTMLResponse:
    return render(request, session, "sign_in_email.html", form=pages_views.FormState())


@router.post("/sign-in/email", response_class=HTMLResponse)
async def ask_for_link(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                       background: BackgroundTasks) -> Response:
    email = normalise(form.get("email", ""))
    if not plausible_email(email):
        state = pages_views.FormState(values={"email": email})
        state.add("email", "Enter an email address like name@example.org")
        return render(request, session, "sign_in_email.html", 400, form=state)
    client = client_of(request, ctx)
    wait = ctx.link_requests_by_client.take(client) or ctx.link_requests_by_address.take(
        hashlib.sha256(email.encode()).hexdigest())
    if wait > 0:
        response = message(request, session, 429, "Too many requests for a sign-in link",
                           "For your security, wait a while before asking again. Check your email for the "
                           "link you asked for before.")
        response.headers["Retry-After"] = retry_after(wait)
        return response
    # Looked up and sent after the answer: the answer neither says nor takes longer for an account.
    background.add_task(request_sign_in_link, ctx, email)
    return render(request, session, "sign_in_email_sent.html", minutes=ctx.settings.sign_in_link_minutes)


@router.get("/sign-in/link", response_class=HTMLResponse)
async def link_page(request: Request, session: PageSession, token: str = "") -> HTMLResponse:
    """The link from the email: a button that uses it (a GET never spends it)."""
    return render(request, session, "sign_in_link.html", token=token)


@router.post("/sign-in/link", response_class=HTMLResponse)
async def use_link(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm) -> Response:
    client = client_of(request, ctx)
    try:
        check_throttle(ctx, client)
    except TooManySignInFailures as exc:
        return too_many(request, exc)
    principal = await sign_in_with_link(ctx, form.get("token", ""))
    if principal is None or principal.person is None:
        ctx.sign_ins.failed(client)
        log.warning("link_sign_in_refused", client=client)
        return message(request, new_session(), 401, "That link does not work",
                       f"A sign-in link works once, for {ctx.settings.sign_in_link_minutes} minutes, and not for a "
                       "disabled account. Ask for a new one at /sign-in/email.")
    log.info("page_sign_in", principal=principal.id, kind=principal.kind.value, person=principal.person,
             role=str(principal.role), method=LINK_METHOD)
    claims = {"method": LINK_METHOD, "sub": principal.person, "name": principal.person_name}
    next_url = "/third-party/report" if principal.kind is PrincipalKind.ORGANISATION else "/inbox"
    # A new session on sign-in: a new CSRF token too (no session fixation).
    return redirect(request, next_url, await start_session(ctx, principal, client, claims))
