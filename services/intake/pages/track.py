"""``/track/{reference}?secret=``: an informant's own report, with the secret from our message."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from schemas.events import REFERENCE_PATTERN
from services.common.track import check_track_secret
from services.intake import pages_store, pages_views
from services.intake.auth import Ctx
from services.intake.context import Context
from services.intake.pages.render import message, render

router = APIRouter(include_in_schema=False)


@router.get("/track/{reference}", response_class=HTMLResponse)
async def track(request: Request, ctx: Ctx, reference: str, secret: str | None = None) -> HTMLResponse:
    if not re.match(REFERENCE_PATTERN, reference) or not check_track_secret(ctx.settings.track_secret, reference,
                                                                           secret):
        # One answer for an unknown reference and a wrong secret: nothing to learn by guessing.
        return message(request, None, 404, "We cannot find that report",
                       "Check the reference and use the link from the message we sent you.")
    rows = await ctx.store.run(pages_store.track_rows, reference)
    view = pages_views.track_view(reference=reference, categories=ctx.categories,
                                  actor_names=actor_names(ctx, rows["destinations"]), now=ctx.clock(), **rows)
    return render(request, None, "track.html", view=view)


def actor_names(ctx: Context, destinations: list[dict[str, Any]] | None) -> dict[str, str]:
    names = {d["id"]: d["name"] for d in destinations or []}
    for principal_id in list(names):
        principal = ctx.access.principal(principal_id)
        if principal is not None:
            names[principal_id] = principal.name
    return names
