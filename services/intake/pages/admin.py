"""``/admin/people``: administrators see who is signed in, end a person's sessions (after a role
change at the identity provider) and disable or enable accounts; each takes effect at once.
``/admin/link-accounts``: they invite people without a force account (who sign in by a one-time
email link), send them a new link, and disable or enable them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.common.logging import get_logger
from services.intake import pages_views
from services.intake.access import Principal, PrincipalKind, Role
from services.intake.auth import Ctx, PageSession, Session, signed_in
from services.intake.pages.render import redirect, render
from services.intake.pages.session import CheckedForm
from services.intake.permissions import Permission
from services.intake.usecases import InvalidInvitation, change_link_account, invite_link_account
from services.store import links, staff

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


LinkAdministrator = Annotated[Principal, Depends(signed_in(Permission.MANAGE_ACCESS,
                                                           next_url="/admin/link-accounts"))]
ROLES = [(str(Role.WATCH_COORDINATOR), "Watch coordinator", None),
         (str(Role.ORGANISATION_CASEWORKER), "Organisation caseworker", None)]


def _link_accounts_page(request: Request, ctx: Ctx, session: Session, accounts: list[links.Account],
                        form: pages_views.FormState, status_code: int = 200) -> Response:
    unit_groups = [("Watches", ctx.access.units(PrincipalKind.WATCH)),
                   ("Organisations", ctx.access.units(PrincipalKind.ORGANISATION))]
    return render(request, session, "admin_link_accounts.html", status_code, accounts=accounts, form=form,
                  roles=ROLES, unit_groups=unit_groups, minutes=ctx.settings.sign_in_link_minutes)


@router.get("/admin/link-accounts", response_class=HTMLResponse)
async def link_accounts(request: Request, ctx: Ctx, session: PageSession, admin: Administrator) -> Response:
    return _link_accounts_page(request, ctx, session, await ctx.store.run(links.accounts), pages_views.FormState())


@router.post("/admin/link-accounts", response_class=HTMLResponse)
async def invite(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                 admin: LinkAdministrator) -> Response:
    fields = {k: form.get(k, "").strip() for k in ("name", "email", "role", "unit")}
    try:
        await invite_link_account(ctx, admin, **fields)
    except InvalidInvitation as exc:
        state = pages_views.FormState(values=fields)
        state.add(exc.field, exc.message)
        return _link_accounts_page(request, ctx, session, await ctx.store.run(links.accounts), state, 400)
    return redirect(request, "/admin/link-accounts", session)


@router.post("/admin/link-accounts/{person}/{action}", response_class=HTMLResponse)
async def change_link(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                      admin: LinkAdministrator, person: str, action: str) -> Response:
    await change_link_account(ctx, admin, person, action)
    return redirect(request, "/admin/link-accounts", session)
