""""You said, we did" as publications: ``/publications`` for teams (draft one for a neighbourhood;
a supervisor approves someone else's draft or withdraws one), and the public pages
``/neighbourhoods`` and ``/neighbourhoods/{area}``, which show approved publications only, with
the author's unit and role and the dates, never who wrote it. Thin adapters over ``usecases``,
as ``GET /v1/publications`` is for the same words in police.uk's shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.intake import pages_views, usecases
from services.intake.access import Principal
from services.intake.auth import Ctx, PageSession, signed_in
from services.intake.pages.render import message, redirect, render
from services.intake.pages.session import CheckedForm
from services.intake.permissions import Permission, allowed
from services.store import publications as publications_store

router = APIRouter(include_in_schema=False)
Drafter = Annotated[Principal, Depends(signed_in(Permission.DRAFT_PUBLICATION))]
PostingDrafter = Annotated[Principal, Depends(signed_in(Permission.DRAFT_PUBLICATION, next_url="/publications"))]
Approver = Annotated[Principal, Depends(signed_in(Permission.APPROVE_PUBLICATION, next_url="/publications"))]

#: The draft form's fields in page order (the error summary follows it).
FIELDS = ("neighbourhood", "issue", "issue_date", "action", "action_date")


async def _staff_page(request: Request, ctx: Ctx, session: PageSession, principal: Principal,
                      form: pages_views.FormState, status_code: int = 200) -> Response:
    drafts, approved = await usecases.staff_publications(ctx, principal)
    return render(request, session, "publications.html", status_code, form=form, drafts=drafts, approved=approved,
                  neighbourhoods=ctx.neighbourhoods, may_approve=allowed(principal, Permission.APPROVE_PUBLICATION),
                  me=principal.actor, done=request.query_params.get("done", ""))


@router.get("/publications", response_class=HTMLResponse)
async def staff_publications(request: Request, ctx: Ctx, session: PageSession, principal: Drafter) -> Response:
    return await _staff_page(request, ctx, session, principal, pages_views.FormState())


@router.post("/publications", response_class=HTMLResponse)
async def draft(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                principal: PostingDrafter) -> Response:
    values = {name: form.get(name, "") for name in FIELDS}
    try:
        await usecases.draft_publication(ctx, principal, **values)
    except usecases.InvalidField as exc:
        state = pages_views.FormState(values=values)
        state.add(exc.field, exc.message[:1].upper() + exc.message[1:])
        return await _staff_page(request, ctx, session, principal, state, 422)
    return redirect(request, "/publications?done=drafted", session)


async def _decide(request: Request, ctx: Ctx, session: PageSession, principal: Principal, publication_id: int,
                  approve: bool) -> Response:
    try:
        if approve:
            await usecases.approve_publication(ctx, principal, publication_id)
        else:
            await usecases.withdraw_publication(ctx, principal, publication_id)
    except usecases.NotFound:
        return message(request, session, 404, "No such publication", "It may have been removed. Go back to the list.")
    except usecases.Forbidden as exc:
        return message(request, session, 403, "You cannot do that", f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    except usecases.Conflict as exc:
        return message(request, session, 409, "Changed meanwhile", f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    return redirect(request, f"/publications?done={'approved' if approve else 'withdrawn'}", session)


@router.post("/publications/{publication_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm, principal: Approver,
                  publication_id: int) -> Response:
    return await _decide(request, ctx, session, principal, publication_id, approve=True)


@router.post("/publications/{publication_id}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm, principal: Approver,
                   publication_id: int) -> Response:
    return await _decide(request, ctx, session, principal, publication_id, approve=False)


# ---- public ------------------------------------------------------------------------------------------


@router.get("/neighbourhoods", response_class=HTMLResponse)
async def neighbourhoods(request: Request, ctx: Ctx, session: PageSession) -> Response:
    counts = await ctx.store.run(publications_store.approved_counts)
    areas = [(area_id, name, counts.get(area_id, 0)) for area_id, name in ctx.neighbourhoods.items()]
    return render(request, session, "neighbourhoods.html", areas=areas)


@router.get("/neighbourhoods/{area}", response_class=HTMLResponse)
async def neighbourhood(request: Request, ctx: Ctx, session: PageSession, area: str) -> Response:
    try:
        rows = await usecases.approved_publications(ctx, area)
    except usecases.InvalidField:
        return message(request, session, 404, "No such neighbourhood",
                       "Choose a neighbourhood from the list at /neighbourhoods.")
    return render(request, session, "neighbourhood.html", area=area, name=ctx.neighbourhoods[area], rows=rows)
