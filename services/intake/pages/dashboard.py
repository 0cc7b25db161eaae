"""``/dashboard``: confidence per area and month."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.intake import pages_dashboard, pages_store
from services.intake.auth import Ctx
from services.intake.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, ctx: Ctx) -> HTMLResponse:
    rows = await ctx.store.run(pages_store.dashboard_rows)
    labels = {cid: c.label for cid, c in ctx.categories.categories.items()}
    view = pages_dashboard.build(rows, category_label=lambda c: labels.get(c, c))
    return render(request, None, "dashboard.html", view=view)
