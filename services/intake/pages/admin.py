"""``/admin/people``: administrators see who is signed in, end a person's sessions (after a role
change at the identity provider) and disable or enable accounts; each takes effect at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.common.logging import get_logger
from services.intake.access import Principal
from services.intake.auth import Ctx, PageSession, signed_in
from services.intake.pages.render import redirect, render
from services.intake.pages.session import CheckedForm
from services.intake.permissions import Permission
from services.store import staff

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)
Administrator = Annotated[Principal, Depends(signed_in(Permission.MANAGE_ACCESS))]
PostingAdministrator = Annotated[Principal, Depends(signed_in(Permission.MANAGE_ACCESS, next_url="/admin/people"))]


@router.get("/admin/people", response_class=HTMLResponse)
async def people(request: Request, ctx: Ctx, session: PageSession, admin: Administrator) -> Response:
    return render(request, session, "admin_people.html", people=await ctx.store.run(staff.people))


async def _change(ctx: Ctx, admin: Principal, person: str, action: str) -> None:
    by, now = admin.actor, ctx.clock()
    if action == "disable":
        ended = await ctx.store.run(staff.set_disabled, person, True, by=by, now=now)
    elif action == "enable":
        ended = await ctx.store.run(staff.set_disabled, person, False, by=by, now=now)
    else:
        ended = await ctx.store.run(staff.end_person, person, "ended_by_administrator", now)
    log.info("staff_account_changed", person=person, action=action, by=by, sessions_ended=ended)


@router.post("/admin/people", response_class=HTMLResponse)
async def disable_by_name(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                          admin: PostingAdministrator) -> Response:
    person = form.get("person", "").strip()
    if person:
        await _change(ctx, admin, person, "disable")
    return redirect(request, "/admin/people", session)


@router.post("/admin/people/{person}/{action}", response_class=HTMLResponse)
async def change(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm, admin: PostingAdministrator,
                 person: str, action: str) -> Response:
    if action not in ("disable", "enable", "end-sessions"):
        return redirect(request, "/admin/people", session)
    await _change(ctx, admin, person, action)
    return redirect(request, "/admin/people", session)
