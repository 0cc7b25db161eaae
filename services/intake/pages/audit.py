"""``/audit``: supervisors search the audit log (by report, person and date) for their own teams'
reports and people; administrators search all of it. Each entry says who, when, from where, what
and why."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services import audit
from services.intake import pages_views
from services.intake.access import Principal, Role
from services.intake.auth import Ctx, PageSession, signed_in
from services.intake.pages.render import render
from services.intake.permissions import Permission

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(signed_in(Permission.READ_AUDIT))]


def _day(value: str, state: pages_views.FormState, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=pages_views.UK).astimezone(UTC)
    except ValueError:
        state.add(field, "Enter a date like 2026-12-01")
        return None


@router.get("/audit", response_class=HTMLResponse)
async def search(request: Request, ctx: Ctx, session: PageSession, reader: Reader, reference: str = "",
                 person: str = "", since: str = "", until: str = "") -> Response:
    reference, person = reference.strip().upper(), person.strip()
    state = pages_views.FormState(values={"reference": reference, "person": person, "since": since, "until": until})
    start = _day(since, state, "since")
    end = _day(until, state, "until")
    everything = reader.role is Role.ADMINISTRATOR or reader.scope == "all"
    references = None if everything else await ctx.store.run(audit.routed_references, reader.id)
    found: list[audit.Found] = []
    if not state.errors:
        found = await ctx.store.run(audit.search, reference=reference or None, person=person or None, since=start,
                                    until=end + timedelta(days=1) if end else None,
                                    units=None if everything else [reader.id], references=references)
    return render(request, session, "audit.html", 400 if state.errors else 200, form=state, found=found,
                  everything=everything)
