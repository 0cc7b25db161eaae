"""``/inbox/{reference}/contact``: the informant's contact details, for the police team the report
was routed to (never a watch). Every opening is a consultation in the audit log; for a sensitive
report (domestic abuse, ...) the officer first says why they need them, and that justification is
logged with it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.audit import AuditAction
from services.intake import pages_store, pages_views, usecases
from services.intake.access import Principal, PrincipalKind
from services.intake.auth import Ctx, PageSession, Session, signed_in
from services.intake.context import Context
from services.intake.pages.render import message, render
from services.intake.pages.session import CheckedForm
from services.intake.permissions import Permission

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(signed_in(Permission.VIEW_ITEMS))]
#: The fewest characters a justification may have: a word or two is not a reason.
MIN_JUSTIFICATION = 10


async def _report(ctx: Context, principal: Principal, reference: str) -> dict[str, Any] | None:
    if principal.kind is PrincipalKind.WATCH:
        return None  # a watch never sees who reported
    report = await ctx.store.run(pages_store.report_row, reference)
    if report is None or not usecases.may_act_on(principal, [d.get("id") for d in report["destinations"]]):
        return None
    return report


def _details(report: dict[str, Any]) -> dict[str, Any]:
    contact = report["contact"]
    person = contact.get("informant") or contact.get("reporter") or {}
    preferences = person.get("preferences") or {}
    return {"name": person.get("name"), "phone": person.get("phone"), "email": person.get("email"),
            "channel": preferences.get("channel"), "safe_to_contact": preferences.get("safe_to_contact"),
            "safe_times": preferences.get("safe_times")}


def _page(request: Request, session: Session, report: dict[str, Any], sensitive: bool, *,
          details: dict[str, Any] | None = None, state: pages_views.FormState | None = None,
          status_code: int = 200) -> Response:
    return render(request, session, "contact.html", status_code, reference=report["reference"], sensitive=sensitive,
                  details=details, form=state or pages_views.FormState())


async def _consulted(ctx: Context, principal: Principal, reference: str, justification: str | None) -> None:
    await ctx.audit.record(AuditAction.CONSULTATION, "contact_details", principal, reference=reference,
                           justification=justification, at=ctx.clock())


@router.get("/inbox/{reference}/contact", response_class=HTMLResponse)
async def contact(request: Request, ctx: Ctx, session: PageSession, principal: Viewer, reference: str) -> Response:
    report = await _report(ctx, principal, reference)
    if report is None:
        return message(request, session, 404, "Page not found", "There is no such report for you.")
    sensitive = ctx.categories.is_sensitive(report["contact"]["report"]["category"])
    if sensitive:
        return _page(request, session, report, sensitive)  # ask why first
    await _consulted(ctx, principal, reference, None)
    return _page(request, session, report, sensitive, details=_details(report))


@router.post("/inbox/{reference}/contact", response_class=HTMLResponse)
async def contact_justified(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                            principal: Viewer, reference: str) -> Response:
    report = await _report(ctx, principal, reference)
    if report is None:
        return message(request, session, 404, "Page not found", "There is no such report for you.")
    sensitive = ctx.categories.is_sensitive(report["contact"]["report"]["category"])
    justification = " ".join(form.get("justification", "").split())
    if sensitive and len(justification) < MIN_JUSTIFICATION:
        state = pages_views.FormState(values={"justification": justification})
        state.add("justification", "Say why you need this person's contact details: it is recorded")
        return _page(request, session, report, sensitive, state=state, status_code=400)
    await _consulted(ctx, principal, reference, justification or None)
    return _page(request, session, report, sensitive, details=_details(report))
