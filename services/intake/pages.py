"""Pages for people: server-rendered HTML (Jinja2, autoescaped), GOV.UK Design System patterns,
no JavaScript needed.

- ``/report``: the public form; ``/third-party/report``: organisations, signed in;
- ``/track/{reference}?secret=``: an informant's own report;
- ``/sign-in``, ``/inbox``: teams and watch coordinators, each scoped to its own items;
- ``/dashboard``: confidence per area and month; ``/outbox``: local runs only.

Forms become the same events as the JSON API: the public form is read into the API's
``PublicReportRequest`` and handed to its route function; an inbox action passes the API's access
check (``routes.check_may_act``) and is published as the same ``CaseUpdate``.

Sessions are a signed cookie (itsdangerous) naming the principal and holding a CSRF token that
every state-changing form echoes back.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from schemas.events import REFERENCE_PATTERN
from schemas.topics import CASES_UPDATES, CONTACTS_THIRD_PARTY
from services.common.logging import get_logger
from services.common.track import check_track_secret, track_url
from services.intake import pages_dashboard, pages_store, pages_views, reports, routes
from services.intake.access import Principal, PrincipalKind
from services.intake.context import Context
from services.intake.publisher import PublishFailed
from services.intake.reports import ActionRequest

log = get_logger(__name__)
HERE = Path(__file__).resolve().parent
GOVUK_STATIC = HERE.parent.parent / ".local" / "static" / "govuk"
COOKIE = "mecc_session"

router = APIRouter(include_in_schema=False)
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["when"] = lambda at: "" if at is None else pages_views.aware(at).astimezone(  # type: ignore[union-attr]
    pages_views.UK).strftime("%-d %b %Y, %H:%M")


def install(app: FastAPI) -> None:
    """Add the pages and their static files to the intake's app."""
    app.include_router(router)
    app.mount("/static/govuk", StaticFiles(directory=GOVUK_STATIC, check_dir=False), name="govuk")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


# ---- session and CSRF -----------------------------------------------------------------------


def _serializer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.settings.session_secret, salt="mecc-pages-session")


def _session(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer(ctx).loads(raw, max_age=ctx.settings.session_max_age_seconds)
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                return data
        except BadSignature:
            pass
    return {"csrf": secrets.token_urlsafe(24), "p": None}


def _signed_in(request: Request, session: dict[str, Any]) -> tuple[str, Principal] | None:
    principal_id = session.get("p")
    if not principal_id:
        return None
    principal = _ctx(request).access.principal(principal_id)
    return None if principal is None else (principal_id, principal)


def _csrf_ok(session: dict[str, Any], form: Any) -> bool:
    given = form.get("csrf_token")
    return isinstance(given, str) and hmac.compare_digest(given.encode(), session["csrf"].encode())


def _render(request: Request, session: dict[str, Any] | None, template: str, status_code: int = 200,
            **values: Any) -> HTMLResponse:
    session = session if session is not None else _session(request)
    who = _signed_in(request, session)
    html = env.get_template(template).render(
        csrf_token=session["csrf"], signed_in=who[1] if who else None, show_outbox=_outbox_shown(_ctx(request)),
        path=request.url.path, **values)
    response = HTMLResponse(html, status_code=status_code)
    _set_cookie(request, response, session)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"  # the track page's secret stays out of referrers
    return response


def _set_cookie(request: Request, response: Response, session: dict[str, Any]) -> None:
    ctx = _ctx(request)
    response.set_cookie(COOKIE, _serializer(ctx).dumps(session), max_age=ctx.settings.session_max_age_seconds,
                        httponly=True, samesite="lax", secure=ctx.settings.public_base_url.startswith("https:"))


def _redirect(request: Request, url: str, session: dict[str, Any]) -> Response:
    response = RedirectResponse(url, status_code=303)
    _set_cookie(request, response, session)
    return response


def _expired(request: Request, session: dict[str, Any]) -> HTMLResponse:
    return _render(request, session, "message.html", 403, title="Your session has expired",
                   text="For your security, the form could not be sent. Go back, reload the page and try again.")


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


# ---- public pages -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def start(request: Request) -> HTMLResponse:
    return _render(request, None, "start.html")


def _report_page(request: Request, session: dict[str, Any] | None, state: pages_views.FormState,
                 status_code: int = 200) -> HTMLResponse:
    ctx = _ctx(request)
    return _render(request, session, "report.html", status_code, form=state,
                   categories=pages_views.category_choices(ctx.categories),
                   sensitive_labels=[c.label for c in ctx.categories.categories.values() if c.sensitive])


@router.get("/report", response_class=HTMLResponse)
async def report_form(request: Request) -> HTMLResponse:
    state = pages_views.FormState(values={"contact": "sms", "idempotency_key": uuid.uuid4().hex})
    return _report_page(request, None, state)


@router.post("/report", response_class=HTMLResponse)
async def report_submit(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    form = await _form(request)
    body, state = pages_views.read_report_form(form, ctx.categories)
    if body is None:
        log.info("report_form_invalid", fields=[e.field for e in state.errors])
        return _report_page(request, None, state, 400)
    key = form.get("idempotency_key") or None
    # The JSON API's own route function: same checks, same event, same publisher.
    try:
        accepted = await routes.submit_report(body, ctx, f"page:{key}" if key else None)
    except PublishFailed:
        state.add("description", "We could not accept your report just now and nothing was recorded. "
                                 "Please try again in a minute.")
        return _report_page(request, None, state, 503)
    hears_back = body.informant is not None
    return _render(request, None, "report_done.html", reference=accepted.reference, hears_back=hears_back,
                   channel=body.informant.preferences.channel if body.informant else None,
                   track=track_url("", ctx.settings.track_secret, accepted.reference))


@router.get("/track/{reference}", response_class=HTMLResponse)
async def track(request: Request, reference: str, secret: str | None = None) -> HTMLResponse:
    ctx = _ctx(request)
    if not re.match(REFERENCE_PATTERN, reference) or not check_track_secret(ctx.settings.track_secret, reference,
                                                                           secret):
        # One answer for an unknown reference and a wrong secret: nothing to learn by guessing.
        return _render(request, None, "message.html", 404, title="We cannot find that report",
                       text="Check the reference and use the link from the message we sent you.")
    rows = await ctx.store.run(pages_store.track_rows, reference)
    view = pages_views.track_view(reference=reference, categories=ctx.categories,
                                  actor_names=_actor_names(ctx, rows["destinations"]), now=ctx.clock(), **rows)
    return _render(request, None, "track.html", view=view)


def _actor_names(ctx: Context, destinations: list[dict[str, Any]] | None) -> dict[str, str]:
    names = {d["id"]: d["name"] for d in destinations or []}
    for principal_id in list(names):
        principal = ctx.access.principal(principal_id)
        if principal is not None:
            names[principal_id] = principal.name
    return names


# ---- sign in ------------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str = "/inbox") -> HTMLResponse:
    return _render(request, None, "sign_in.html", form=pages_views.FormState(), next=_safe_next(next))


def _safe_next(url: str) -> str:
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc and url.startswith("/") else "/inbox"


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    session = _session(request)
    form = await _form(request)
    if not _csrf_ok(session, form):
        return _expired(request, session)
    found = _ctx(request).access.authenticate(form.get("api_key", "").strip())
    next_url = _safe_next(form.get("next", "/inbox"))
    if found is None:
        state = pages_views.FormState()
        state.add("api_key", "Enter the key you were given; that one is not recognised")
        return _render(request, session, "sign_in.html", 401, form=state, next=next_url)
    principal_id, principal = found
    # A new session on sign-in: a new CSRF token too (no session fixation).
    session = {"csrf": secrets.token_urlsafe(24), "p": principal_id}
    log.info("page_sign_in", principal=principal_id, kind=principal.kind.value)
    if principal.kind is PrincipalKind.ORGANISATION and next_url == "/inbox":
        next_url = "/third-party/report"
    return _redirect(request, next_url, session)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session = _session(request)
    form = await _form(request)
    if not _csrf_ok(session, form):
        return _expired(request, session)
    return _redirect(request, "/sign-in", {"csrf": secrets.token_urlsafe(24), "p": None})


# ---- third-party reports ------------------------------------------------------------------------


def _tp_page(request: Request, session: dict[str, Any], state: pages_views.FormState, org: Principal,
             status_code: int = 200) -> HTMLResponse:
    ctx = _ctx(request)
    return _render(request, session, "third_party.html", status_code, form=state, organisation=org.name,
                   categories=pages_views.category_choices(ctx.categories))


@router.get("/third-party/report", response_class=HTMLResponse)
async def third_party_form(request: Request) -> Response:
    session = _session(request)
    who = _signed_in(request, session)
    if who is None or who[1].kind is not PrincipalKind.ORGANISATION:
        return _redirect(request, "/sign-in?next=/third-party/report", session)
    state = pages_views.FormState(values={"reporter_contact": "email", "idempotency_key": uuid.uuid4().hex})
    return _tp_page(request, session, state, who[1])


@router.post("/third-party/report", response_class=HTMLResponse)
async def third_party_submit(request: Request) -> Response:
    ctx = _ctx(request)
    session = _session(request)
    form = await _form(request)
    if not _csrf_ok(session, form):
        return _expired(request, session)
    who = _signed_in(request, session)
    if who is None or who[1].kind is not PrincipalKind.ORGANISATION:
        return _redirect(request, "/sign-in?next=/third-party/report", session)
    org_id, org = who
    body, state = pages_views.read_third_party_form(form, ctx.categories)
    if body is None:
        return _tp_page(request, session, state, org, 400)
    key = form.get("idempotency_key") or None
    contact = reports.third_party_contact(body, org_id, f"page:{key}" if key else None)
    await ctx.publisher.publish(CONTACTS_THIRD_PARTY.name, contact.reference, contact)
    log.info("report_accepted", reference=contact.reference, category=body.category, kind="third_party",
             organisation=org_id, via="page")
    return _render(request, session, "report_done.html", reference=contact.reference, hears_back=True,
                   channel=body.reporter.channel_to_use(), third_party=True,
                   track=track_url("", ctx.settings.track_secret, contact.reference))


# ---- inbox --------------------------------------------------------------------------------------


def _inbox_principal(request: Request, session: dict[str, Any]) -> tuple[str, Principal] | None:
    who = _signed_in(request, session)
    if who is None or who[1].kind not in (PrincipalKind.TEAM, PrincipalKind.WATCH):
        return None
    return who


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request) -> Response:
    ctx = _ctx(request)
    session = _session(request)
    who = _inbox_principal(request, session)
    if who is None:
        return _redirect(request, "/sign-in?next=/inbox", session)
    principal_id, principal = who
    if principal.kind is PrincipalKind.WATCH:
        rows, statuses = await ctx.store.run(pages_store.watch_items, principal_id)
        items = pages_views.watch_inbox(rows, statuses)
    else:
        team_rows = await ctx.store.run(pages_store.team_items, principal_id, everything=principal.scope == "all")
        items = pages_views.team_inbox(team_rows, ctx.categories)
    log.info("inbox_listed", principal=principal_id, count=len(items))
    return _render(request, session, "inbox.html", items=items, principal=principal,
                   watch=principal.kind is PrincipalKind.WATCH)


async def _inbox_item(request: Request, principal_id: str, principal: Principal, reference: str
                      ) -> tuple[pages_views.InboxItem, list[dict[str, Any]]] | None:
    """The item as this principal may see it: redacted for a watch, full for a team it was routed to."""
    ctx = _ctx(request)
    if principal.kind is PrincipalKind.WATCH:
        row = await ctx.store.run(pages_store.watch_item, principal_id, reference)
        if row is None:
            return None
        (item,) = pages_views.watch_inbox([row[0]], {reference: row[1]})
    else:
        report = await ctx.store.run(pages_store.report_row, reference)
        if report is None or (principal.scope != "all" and principal_id not in
                              {d.get("id") for d in report["destinations"]}):
            return None
        (item,) = pages_views.team_inbox([{**report, "cluster": None}], ctx.categories)
    actions = await ctx.store.run(pages_store.report_actions, reference)
    if principal.kind is PrincipalKind.WATCH:
        # A watch sees what was done, but by whom only for its own entries.
        actions = [{**a, "actor": principal.name if a["actor_id"] == principal_id else "The police"}
                   for a in actions]
    else:
        actions = [{**a, "actor": (ctx.access.principal(a["actor_id"]).name  # type: ignore[union-attr]
                                   if ctx.access.principal(a["actor_id"]) else a["actor_id"])} for a in actions]
    return item, actions


def _item_page(request: Request, session: dict[str, Any], principal: Principal, item: pages_views.InboxItem,
               actions: list[dict[str, Any]], state: pages_views.FormState, status_code: int = 200,
               preview: dict[str, Any] | None = None, done: bool = False) -> HTMLResponse:
    return _render(request, session, "inbox_item.html", status_code, item=item, actions=actions, form=state,
                   principal=principal, may_close=principal.kind is PrincipalKind.TEAM, preview=preview,
                   outcomes=pages_views.outcome_choices(), done=done)


@router.get("/inbox/{reference}", response_class=HTMLResponse)
async def inbox_item(request: Request, reference: str) -> Response:
    session = _session(request)
    who = _inbox_principal(request, session)
    if who is None:
        return _redirect(request, f"/sign-in?next=/inbox/{quote(reference)}", session)
    found = await _inbox_item(request, *who, reference)
    if found is None:
        return _render(request, session, "message.html", 404, title="Not in your inbox",
                       text="That report was not routed to you.")
    return _item_page(request, session, who[1], *found, pages_views.FormState(
        values={"kind": "action", "idempotency_key": uuid.uuid4().hex}), done=request.query_params.get("done") == "1")


@router.post("/inbox/{reference}", response_class=HTMLResponse)
async def inbox_record(request: Request, reference: str) -> Response:
    ctx = _ctx(request)
    session = _session(request)
    form = await _form(request)
    if not _csrf_ok(session, form):
        return _expired(request, session)
    who = _inbox_principal(request, session)
    if who is None:
        return _redirect(request, "/sign-in?next=/inbox", session)
    principal_id, principal = who
    found = await _inbox_item(request, principal_id, principal, reference)
    if found is None:
        return _render(request, session, "message.html", 404, title="Not in your inbox",
                       text="That report was not routed to you.")
    body, state = pages_views.action_request(form, may_close=principal.kind is PrincipalKind.TEAM)
    if body is None:
        return _item_page(request, session, principal, *found, state, 400)
    if form.get("send") != "yes":
        preview = pages_views.preview(reference, body, principal_id, principal.name)
        return _item_page(request, session, principal, *found, state, preview=preview)
    try:
        await _record(ctx, principal_id, principal, reference, body, form.get("idempotency_key") or None)
    except HTTPException as exc:
        state.add("public_text", f"This could not be recorded: {exc.detail}")
        return _item_page(request, session, principal, *found, state, exc.status_code)
    return _redirect(request, f"/inbox/{quote(reference)}?done=1", session)


async def _record(ctx: Context, principal_id: str, principal: Principal, reference: str, body: ActionRequest,
                  key: str | None) -> None:
    """The JSON actions endpoint's check and event (``routes.check_may_act``, ``reports.case_update``)."""
    await routes.check_may_act(ctx, principal_id, principal, reference, body)
    update = reports.case_update(reference, body, principal_id, principal.name, f"page:{key}" if key else None)
    await ctx.publisher.publish(CASES_UPDATES.name, reference, update)
    log.info("action_accepted", reference=reference, team=principal_id, kind=body.kind.value, via="page")


# ---- dashboard and outbox -----------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    rows = await ctx.store.run(pages_store.dashboard_rows)
    labels = {cid: c.label for cid, c in ctx.categories.categories.items()}
    view = pages_dashboard.build(rows, pages_dashboard.area_finder(ctx.settings.routing_config_dir),
                                 lambda c: labels.get(c, c))
    return _render(request, None, "dashboard.html", view=view)


def _outbox_shown(ctx: Context) -> bool:
    setting = ctx.settings.show_outbox
    if setting is not None:
        return setting
    host = urlsplit(ctx.settings.public_base_url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") and ctx.settings.outbox_path.exists()


@router.get("/outbox", response_class=HTMLResponse)
async def outbox(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    if not _outbox_shown(ctx):
        return _render(request, None, "message.html", 404, title="Page not found", text="")
    messages = []
    try:
        lines = ctx.settings.outbox_path.read_text("utf-8").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines[-200:]):
        try:
            messages.append(json.loads(line))
        except ValueError:
            continue
    return _render(request, None, "outbox.html", messages=messages)

