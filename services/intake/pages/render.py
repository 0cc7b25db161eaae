"""What every page shares: the Jinja2 environment, rendering with the session cookie and the
security headers, redirects, and reading a form."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.intake import pages_views
from services.intake.auth import COOKIE, Session, context_of, cookie_session, serializer, session_principal
from services.intake.context import Context

HERE = Path(__file__).resolve().parent.parent
GOVUK_STATIC = HERE.parent.parent / ".local" / "static" / "govuk"

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["when"] = lambda at: "" if at is None else pages_views.aware(at).astimezone(  # type: ignore[union-attr]
    pages_views.UK).strftime("%-d %b %Y, %H:%M")


def outbox_shown(ctx: Context) -> bool:
    """The outbox (messages a local run "sent") is shown on local runs only, unless set."""
    setting = ctx.settings.show_outbox
    if setting is not None:
        return setting
    host = urlsplit(ctx.settings.public_base_url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") and ctx.settings.outbox_path.exists()


def render(request: Request, session: Session | None, template: str, status_code: int = 200,
           **values: Any) -> HTMLResponse:
    ctx = context_of(request)
    session = session if session is not None else cookie_session(request, ctx)
    html = env.get_template(template).render(
        csrf_token=session["csrf"], signed_in=session_principal(request), show_outbox=outbox_shown(ctx),
        path=request.url.path, **values)
    response = HTMLResponse(html, status_code=status_code)
    set_cookie(request, response, session)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"  # the track page's secret stays out of referrers
    return response


def set_cookie(request: Request, response: Response, session: Session) -> None:
    ctx = context_of(request)
    response.set_cookie(COOKIE, serializer(ctx).dumps(session), max_age=ctx.settings.session_max_age_seconds,
                        httponly=True, samesite="lax", secure=ctx.settings.public_base_url.startswith("https:"))


def redirect(request: Request, url: str, session: Session) -> Response:
    response = RedirectResponse(url, status_code=303)
    set_cookie(request, response, session)
    return response


def message(request: Request, session: Session | None, status_code: int, title: str, text: str) -> HTMLResponse:
    return render(request, session, "message.html", status_code, title=title, text=text)


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}
