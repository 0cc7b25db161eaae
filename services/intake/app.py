"""The intake's FastAPI app. ``create_app(settings)`` wires the publisher, store and config;
nothing is built at import: ``app_factory`` is what ``uvicorn --factory services.intake.app:app_factory``
(and ``python -m services.intake``) serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.config_files import load_categories, load_neighbourhoods
from services.common.process import configure_process
from services.common.sql import Store
from services.intake import open311, pages, webhooks
from services.intake.access import Access
from services.intake.audit import AuditLog
from services.intake.context import Context
from services.intake.guards import Guards
from services.intake.mailer import build_mailer
from services.intake.oidc import OidcClient
from services.intake.publisher import EventPublisher, Publisher, PublishFailed
from services.intake.ratelimit import SignInThrottle, TokenBucket
from services.intake.routes import router
from services.intake.settings import IntakeSettings
from services.intake.watch_routes import router as watch_router
from services.store.db import make_engine, make_sessions


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Name each bad field (dotted, without the "body" prefix); never echo the input back."""
    fields = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        if loc and loc[0] in {"header", "path", "query"}:
            loc = loc[1:]
        fields.append({"field": ".".join(loc) or "(body)", "message": str(err.get("msg", "invalid"))})
    return fields


#: Answers any endpoint may give besides its own (documented once for the OpenAPI document).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A body that is not what its Content-Type says (e.g. not UTF-8 JSON)"},
    401: {"description": "Missing or unknown API key (or sign-in)"},
    403: {"description": "Not allowed for this key, or an unsigned webhook"},
    404: {"description": "No such report, watch or resource"},
    413: {"description": "Request body too large"},
    422: {"description": "Invalid input: `fields` names each bad field"},
    429: {"description": "Too many requests: try again after `Retry-After` seconds"},
    503: {"description": "The broker did not acknowledge: nothing recorded; retry after `Retry-After`"},
}


def create_app(settings: IntakeSettings, publisher: EventPublisher | None = None) -> FastAPI:
    """Wire the app; tests may hand in their own ``publisher`` (anything with its methods)."""
    configure_process(settings)
    publisher = publisher or Publisher(settings.kafka_bootstrap_servers, settings.publish_timeout_seconds,
                                       security=settings)
    access = Access.from_file(settings.access_config)
    if not settings.is_local and not settings.allow_development_keys and (published := access.development_keys()):
        raise ValueError(f"{settings.access_config} still has the published development keys of "
                         f"{', '.join(published)}, and {' and '.join(settings.beyond_this_machine())} reach past this "
                         "machine: replace them (python -m services.intake new-key) or revoke them")
    engine = make_engine(settings.database_url)
    store = Store(make_sessions(engine))
    ctx = Context(
        publisher=publisher,
        store=store,
        audit=AuditLog(store, linger=settings.audit_linger_seconds),
        access=access,
        categories=load_categories(settings.routing_config_dir),
        neighbourhoods=load_neighbourhoods(settings.routing_config_dir),
        settings=settings,
        oidc=OidcClient(settings) if settings.oidc_issuer else None,
        sign_ins=SignInThrottle(settings.sign_in_failures_per_client, settings.sign_in_failures_per_account,
                                float(settings.sign_in_failure_window_seconds)),
        mailer=build_mailer(settings),
        link_requests_by_address=TokenBucket(settings.sign_in_link_requests_per_address_per_hour / 60,
                                             settings.sign_in_link_address_burst),
        link_requests_by_client=TokenBucket(settings.sign_in_link_requests_per_client_per_hour / 60,
                                            settings.sign_in_link_client_burst),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await publisher.ready()  # connect early when the broker is there; later if not
        await ctx.audit.start()
        yield
        await ctx.audit.stop()
        await ctx.mailer.close()
        await publisher.stop()
        engine.dispose()

    app = FastAPI(
        title="Make every contact count: intake",
        description="Pass on non-urgent information to the police, and hear back what was done. "
        "In an emergency, call 999.",
        version="1",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.context = ctx
    app.include_router(router)
    app.include_router(watch_router)
    app.include_router(webhooks.router)
    app.include_router(open311.router)
    pages.install(app)
    app.add_middleware(Guards, settings=settings)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid request", "fields": _field_errors(exc)},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = exc.detail if isinstance(exc.detail, dict) else {"error": exc.detail}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(PublishFailed)
    async def unavailable(_: Request, exc: PublishFailed) -> JSONResponse:
        return JSONResponse(
            {"error": "we could not accept this right now; nothing was recorded. Please try again.",
             "reason": str(exc)},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    return app


def app_factory() -> FastAPI:
    """The intake with its settings from the environment: uvicorn's ``--factory`` target."""
    return create_app(IntakeSettings())
