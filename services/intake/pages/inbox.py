"""``/inbox``: what was routed to a signed-in team (in full) or watch (redacted), and recording
an action on an item, by the same use case as ``POST /v1/reports/{reference}/actions``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.audit import AuditAction
from services.common.logging import get_logger
from services.intake import pages_store, pages_views, usecases
from services.intake.access import Principal, PrincipalKind
from services.intake.auth import Ctx, PageSession, Session, signed_in
from services.intake.context import Context
from services.intake.pages.render import message, redirect, render
from services.intake.pages.session import CheckedForm
from services.intake.permissions import Permission, allowed
from services.intake.reports import ActionRequest

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)
TeamOrWatch = Annotated[Principal, Depends(signed_in(Permission.VIEW_ITEMS))]
#: After a form was posted, signing in leads back to the inbox.
PostingTeamOrWatch = Annotated[Principal, Depends(signed_in(Permission.RECORD_ACTION, next_url="/inbox"))]


def _status(exc: usecases.IntakeError) -> int:
    """The status of the item's page when the use case refuses, as the API would answer."""
    return 404 if isinstance(exc, usecases.NotFound) else 401 if isinstance(exc, usecases.Unauthenticated) else 403


def _filters(request: Request) -> tuple[pages_store.Filters, pages_store.Cursor | None, dict[str, str]]:
    """The inbox's filters and page from its query string; anything not understood is ignored."""
    query = request.query_params
    chosen = {k: query.get(k, "").strip()[:200] for k in ("status", "category", "area")}
    if chosen["status"] not in ("open", "closed"):
        chosen["status"] = ""
    try:
        cursor = pages_store.Cursor.parse(query.get("after"))
    except ValueError:
        cursor = None
    return (pages_store.Filters(status=chosen["status"] or None, category=chosen["category"] or None,
                                area=chosen["area"] or None), cursor, chosen)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, ctx: Ctx, session: PageSession, principal: TeamOrWatch) -> Response:
    filters, cursor, chosen = _filters(request)
    if principal.kind is PrincipalKind.WATCH:
        page, statuses = await ctx.store.run(pages_store.watch_items, principal.id, pages_store.PAGE_SIZE,
                                             cursor, filters)
        items = pages_views.watch_inbox(page.rows, statuses)
    else:
        page = await ctx.store.run(pages_store.team_items, principal.id, everything=principal.scope == "all",
                                   cursor=cursor, filters=filters)
        items = pages_views.team_inbox(page.rows, ctx.categories)
        for item in items:  # a team's list shows what each informant wrote: each is a consultation
            await ctx.audit.record(AuditAction.CONSULTATION, "inbox_list", principal, reference=item.reference,
                                   at=ctx.clock())
    log.info("inbox_listed", principal=principal.id, count=len(items), total=page.total)
    following = (str(request.url.include_query_params(after=page.next)) if page.next else None)
    categories = [(cid, c.label) for cid, c in ctx.categories.categories.items()]
    return render(request, session, "inbox.html", items=items, principal=principal,
                  watch=principal.kind is PrincipalKind.WATCH, page=page, next_url=following,
                  first_page=cursor is None, chosen=chosen, categories=categories)


async def _inbox_item(ctx: Context, principal: Principal, reference: str
                      ) -> tuple[pages_views.InboxItem, list[dict[str, Any]]] | None:
    """The item as this principal may see it: redacted for a watch, full for a team it was routed to."""
    if principal.kind is PrincipalKind.WATCH:
        row = await ctx.store.run(pages_store.watch_item, principal.id, reference)
        if row is None:
            return None
        (item,) = pages_views.watch_inbox([row[0]], {reference: row[1]})
    else:
        report = await ctx.store.run(pages_store.report_row, reference)
        if report is None or not usecases.may_act_on(principal, [d.get("id") for d in report["destinations"]]):
            return None
        (item,) = pages_views.team_inbox([{**report, "cluster": None}], ctx.categories)
    if principal.kind is PrincipalKind.WATCH:
        return item, await usecases.watch_item_updates(ctx, principal, reference)
    actions = await ctx.store.run(pages_store.report_actions, reference)
    actions = [{**a, "text": a["public_text"],
                "actor": (ctx.access.principal(a["actor_id"]).name  # type: ignore[union-attr]
                          if ctx.access.principal(a["actor_id"]) else a["actor_id"])} for a in actions]
    return item, actions


def _not_yours(request: Request, session: Session) -> HTMLResponse:
    return message(request, session, 404, "Not in your inbox", "That report was not routed to you.")


def _item_page(request: Request, session: Session, principal: Principal, item: pages_views.InboxItem,
               actions: list[dict[str, Any]], state: pages_views.FormState, status_code: int = 200,
               preview: dict[str, Any] | None = None, done: bool = False) -> HTMLResponse:
    return render(request, session, "inbox_item.html", status_code, item=item, actions=actions, form=state,
                  principal=principal, may_close=allowed(principal, Permission.CLOSE_REPORT), preview=preview,
                  watch=principal.kind is PrincipalKind.WATCH,
                  outcomes=pages_views.outcome_choices(), done=done)


def _with_watch_note(body: ActionRequest, form: Mapping[str, str], state: pages_views.FormState,
                     principal: Principal) -> ActionRequest | None:
    """The form's "Note for watches" (police teams only) added to the action; None, with the
    error on the field, if it is too long."""
    note = (form.get("watch_note") or "").strip()
    if not note or principal.kind is not PrincipalKind.TEAM:
        return body
    if len(note) > 2000:
        state.add("watch_note", "The note for watches must be 2,000 characters or fewer")
        return None
    return ActionRequest.model_validate({**body.model_dump(), "watch_note": note})


@router.get("/inbox/{reference}", response_class=HTMLResponse)
async def inbox_item(request: Request, ctx: Ctx, session: PageSession, principal: TeamOrWatch,
                     reference: str) -> Response:
    found = await _inbox_item(ctx, principal, reference)
    if found is None:
        return _not_yours(request, session)
    await ctx.audit.record(AuditAction.CONSULTATION, "report_item", principal, reference=reference, at=ctx.clock())
    return _item_page(request, session, principal, *found, pages_views.FormState(
        values={"kind": "action", "idempotency_key": uuid.uuid4().hex}), done=request.query_params.get("done") == "1")


@router.post("/inbox/{reference}", response_class=HTMLResponse)
async def inbox_record(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                       principal: PostingTeamOrWatch, reference: str) -> Response:
    found = await _inbox_item(ctx, principal, reference)
    if found is None:
        return _not_yours(request, session)
    body, state = pages_views.action_request(form, may_close=allowed(principal, Permission.CLOSE_REPORT))
    if body is not None:
        body = _with_watch_note(body, form, state, principal)
    if body is None:
        return _item_page(request, session, principal, *found, state, 400)
    if form.get("send") != "yes":
        preview = pages_views.preview(reference, body, principal.id, principal.name,
                                      actor_kind="watch" if principal.kind is PrincipalKind.WATCH else "team")
        return _item_page(request, session, principal, *found, state, preview=preview)
    key = form.get("idempotency_key") or None
    try:
        await usecases.record_action(ctx, principal, reference, body, f"page:{key}" if key else None, via="page")
    except usecases.IntakeError as exc:
        state.add("public_text", f"This could not be recorded: {exc}")
        return _item_page(request, session, principal, *found, state, _status(exc))
    return redirect(request, f"/inbox/{quote(reference)}?done=1", session)
