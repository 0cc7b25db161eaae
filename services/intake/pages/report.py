"""The start page and the public form (``/report``): read into the API's ``PublicReportRequest``
and submitted by the same use case."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.common.logging import get_logger
from services.common.track import track_url
from services.intake import pages_views, usecases
from services.intake.auth import Ctx, client_of
from services.intake.pages.render import read_form, render
from services.intake.publisher import PublishFailed

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def start(request: Request) -> HTMLResponse:
    return render(request, None, "start.html")


def _report_page(request: Request, ctx: Ctx, state: pages_views.FormState, status_code: int = 200) -> HTMLResponse:
    return render(request, None, "report.html", status_code, form=state,
                  categories=pages_views.category_choices(ctx.categories),
                  sensitive_labels=[c.label for c in ctx.categories.categories.values() if c.sensitive],
                  safe_days=pages_views.SAFE_DAYS, quiet=ctx.quiet_hours)


@router.get("/report", response_class=HTMLResponse)
async def report_form(request: Request, ctx: Ctx) -> HTMLResponse:
    state = pages_views.FormState(values={"contact": "sms", "idempotency_key": uuid.uuid4().hex})
    return _report_page(request, ctx, state)


@router.post("/report", response_class=HTMLResponse)
async def report_submit(request: Request, ctx: Ctx) -> HTMLResponse:
    form = await read_form(request)
    body, state = pages_views.read_report_form(form, ctx.categories)
    if body is None:
        log.info("report_form_invalid", fields=[e.field for e in state.errors])
        return _report_page(request, ctx, state, 400)
    key = form.get("idempotency_key") or None
    try:
        accepted = await usecases.submit_public_report(
            ctx, body, f"page:{key}" if key else None, via="page", quiet=ctx.quiet_hours,
            scope=f"address:{client_of(request, ctx)}")
    except usecases.UnsafeWindows as exc:
        state.add("safe_window", exc.message)
        return _report_page(request, ctx, state, 400)
    except usecases.IdempotencyKeyReused:
        state.values["idempotency_key"] = uuid.uuid4().hex
        state.add("description", "This form was already sent with other details. Check them and send it "
                                 "again to pass this on as a new report.")
        return _report_page(request, ctx, state, 400)
    except usecases.UnknownCategory:
        state.add("category", "Choose what your report is about")
        return _report_page(request, ctx, state, 400)
    except PublishFailed:
        state.add("description", "We could not accept your report just now and nothing was recorded. "
                                 "Please try again in a minute.")
        return _report_page(request, ctx, state, 503)
    return render(request, None, "report_done.html", reference=accepted.reference,
                  hears_back=body.informant is not None,
                  channel=body.informant.preferences.channel if body.informant else None,
                  track=track_url("", ctx.settings.track_secret, accepted.reference))
