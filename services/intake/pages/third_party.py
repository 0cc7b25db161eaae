"""``/third-party/report``: an organisation, signed in, reports on someone's behalf; submitted by
the same use case as ``POST /v1/third-party/reports``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.common.track import track_url
from services.intake import pages_views, usecases
from services.intake.access import Principal
from services.intake.auth import Ctx, PageSession, Session, signed_in
from services.intake.pages.render import render
from services.intake.pages.session import CheckedForm
from services.intake.permissions import Permission

router = APIRouter(include_in_schema=False)
Organisation = Annotated[Principal, Depends(signed_in(Permission.SUBMIT_FOR_OTHERS, next_url="/third-party/report"))]


def _page(request: Request, ctx: Ctx, session: Session, state: pages_views.FormState, org: Principal,
          status_code: int = 200) -> HTMLResponse:
    return render(request, session, "third_party.html", status_code, form=state, organisation=org.name,
                  categories=pages_views.category_choices(ctx.categories), safe_days=pages_views.SAFE_DAYS,
                  quiet=ctx.quiet_hours)


@router.get("/third-party/report", response_class=HTMLResponse)
async def third_party_form(request: Request, ctx: Ctx, session: PageSession, org: Organisation) -> Response:
    state = pages_views.FormState(values={"reporter_contact": "email", "idempotency_key": uuid.uuid4().hex})
    return _page(request, ctx, session, state, org)


@router.post("/third-party/report", response_class=HTMLResponse)
async def third_party_submit(request: Request, ctx: Ctx, session: PageSession, form: CheckedForm,
                             org: Organisation) -> Response:
    body, state = pages_views.read_third_party_form(form, ctx.categories)
    if body is None:
        return _page(request, ctx, session, state, org, 400)
    key = form.get("idempotency_key") or None
    try:
        accepted = await usecases.submit_third_party_report(ctx, org, body, f"page:{key}" if key else None,
                                                            via="page", quiet=ctx.quiet_hours)
    except usecases.UnsafeWindows as exc:
        state.add("subject_safe_window", exc.message)
        return _page(request, ctx, session, state, org, 400)
    except usecases.IdempotencyKeyReused:
        state.values["idempotency_key"] = uuid.uuid4().hex
        state.add("description", "This form was already sent with other details. Check them and send it "
                                 "again to pass this on as a new report.")
        return _page(request, ctx, session, state, org, 400)
    except usecases.UnknownCategory:
        state.add("category", "Choose what the report is about")
        return _page(request, ctx, session, state, org, 400)
    return render(request, session, "report_done.html", reference=accepted.reference, hears_back=True,
                  channel=body.reporter.channel_to_use(), third_party=True,
                  track=track_url("", ctx.settings.track_secret, accepted.reference))
