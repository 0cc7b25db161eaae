"""``/dashboard``: confidence per area and month, public and the same for everyone: built from
the stored figures only (a few hundred rows however many reports), with no session and no cookie,
so it is cacheable (``Cache-Control``, and an ``ETag`` a browser or proxy revalidates with).

The figures change only when the router refreshes them, so the page is rendered once per
version of the figures (``dashboard.version``: one small query) and kept in the process."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.intake import pages_dashboard
from services.intake.auth import Ctx
from services.intake.pages.render import env, outbox_shown
from services.store import dashboard as dashboard_store

router = APIRouter(include_in_schema=False)
#: How long a browser or proxy may show the page without asking again: the figures are refreshed
#: about once a minute (``DASHBOARD_REFRESH_SECONDS`` on the router).
MAX_AGE_SECONDS = 60


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, ctx: Ctx) -> Response:
    version = await ctx.store.run(dashboard_store.version)
    shown = outbox_shown(ctx)
    # The page as last rendered by this app: (version of the figures, ETag, HTML).
    cached: tuple[str, str, str] | None = getattr(request.app.state, "dashboard_page", None)
    if cached is None or cached[0] != f"{version}/{shown}":
        months = await ctx.store.run(dashboard_store.read)
        labels = {cid: c.label for cid, c in ctx.categories.categories.items()}
        view = pages_dashboard.view(months, lambda c: labels.get(c, c), ctx.settings.dashboard_min_count,
                                    ctx.categories.is_sensitive)
        html = env.get_template("dashboard.html").render(csrf_token="", signed_in=None, show_outbox=shown,
                                                         path=request.url.path, view=view)
        cached = (f"{version}/{shown}", '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"', html)
        request.app.state.dashboard_page = cached
    _, tag, html = cached
    headers = {"Cache-Control": f"public, max-age={MAX_AGE_SECONDS}", "ETag": tag,
               "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
    if tag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(html, headers=headers)
