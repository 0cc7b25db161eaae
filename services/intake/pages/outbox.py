"""``/outbox``: the messages a local run "sent" (local runs only)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.intake.auth import Ctx
from services.intake.pages.render import message, outbox_shown, render

router = APIRouter(include_in_schema=False)


@router.get("/outbox", response_class=HTMLResponse)
async def outbox(request: Request, ctx: Ctx) -> HTMLResponse:
    if not outbox_shown(ctx):
        return message(request, None, 404, "Page not found", "")
    messages = []
    try:
        lines = ctx.settings.outbox_path.read_text("utf-8").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines[-200:]):
        try:
            messages.append(json.loads(line))
        except ValueError:
            continue
    return render(request, None, "outbox.html", messages=messages)
