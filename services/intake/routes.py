"""HTTP routes: decode, check, build the event, publish, answer. Thin on purpose."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, Response, status

from schemas import UpdateKind
from schemas.events import REFERENCE_PATTERN
from schemas.topics import CASES_UPDATES, CONTACTS_PUBLIC, CONTACTS_THIRD_PARTY
from services.common import metrics
from services.common.logging import get_logger
from services.intake import reports
from services.intake.access import Principal, PrincipalKind
from services.intake.context import Context
from services.intake.reports import (
    Accepted,
    ActionRequest,
    PublicReportRequest,
    ThirdPartyReportRequest,
)
from services.store import repository
from services.store.routing import cluster_references

log = get_logger(__name__)
router = APIRouter()

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=100,
           description="Retry a request with the same key and it creates nothing new."),
]
ApiKey = Annotated[str | None, Header(alias="X-API-Key", description="Organisation or team API key.")]


def context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(context)]


def authorised(ctx: Context, key: str | None, *kinds: PrincipalKind) -> tuple[str, Principal]:
    """Who a key belongs to, if it is one of ``kinds``: 401 for a missing or unknown key, 403 for
    a key of another kind."""
    found = ctx.access.authenticate(key)
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or unknown X-API-Key")
    principal_id, principal = found
    if principal.kind not in kinds:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this key is not for a {' or '.join(k.value for k in kinds)}")
    return principal_id, principal


def _check_category(ctx: Context, category: str) -> None:
    if category not in ctx.categories.categories:
        raise HTTPException(
            422,
            {"error": "invalid request",
             "fields": [{"field": "category", "message": "unknown category",
                         "allowed": sorted(ctx.categories.categories)}]},
        )


@router.post("/v1/reports", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Pass on non-urgent information")
async def submit_report(body: PublicReportRequest, ctx: Ctx, idempotency_key: IdempotencyKey = None) -> Accepted:
    _check_category(ctx, body.category)
    contact = reports.public_contact(body, idempotency_key)
    await ctx.publisher.publish(CONTACTS_PUBLIC.name, contact.reference, contact)
    metrics.REPORTS_RECEIVED.labels("public").inc()
    log.info("report_accepted", reference=contact.reference, category=body.category, kind="public")
    hears_back = contact.informant is not None and contact.informant.channel_to_use() is not None
    return Accepted(reference=contact.reference,
                    message=reports.acknowledgement(contact.reference, hears_back))


@router.post("/v1/third-party/reports", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Report on someone's behalf (organisations)")
async def submit_third_party_report(
    body: ThirdPartyReportRequest, ctx: Ctx, api_key: ApiKey = None, idempotency_key: IdempotencyKey = None
) -> Accepted:
    organisation_id, _org = authorised(ctx, api_key, PrincipalKind.ORGANISATION)
    _check_category(ctx, body.category)
    contact = reports.third_party_contact(body, organisation_id, idempotency_key)
    await ctx.publisher.publish(CONTACTS_THIRD_PARTY.name, contact.reference, contact)
    metrics.REPORTS_RECEIVED.labels("third_party").inc()
    log.info("report_accepted", reference=contact.reference, category=body.category, kind="third_party",
             organisation=organisation_id)
    return Accepted(reference=contact.reference, message=reports.acknowledgement(contact.reference, True))


@router.post("/v1/reports/{reference}/actions", status_code=status.HTTP_202_ACCEPTED,
             response_model=Accepted, summary="Record what was done (teams and watch coordinators)")
async def record_action(
    reference: Annotated[str, Path(pattern=REFERENCE_PATTERN)],
    body: ActionRequest,
    ctx: Ctx,
    api_key: ApiKey = None,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    team_id, team = authorised(ctx, api_key, PrincipalKind.TEAM, PrincipalKind.WATCH)
    await check_may_act(ctx, team_id, team, reference, body)
    update = reports.case_update(reference, body, team_id, team.name, idempotency_key)
    await ctx.publisher.publish(CASES_UPDATES.name, reference, update)
    metrics.REPORTS_RECEIVED.labels("action").inc()
    log.info("action_accepted", reference=reference, team=team_id, kind=body.kind.value)
    return Accepted(reference=reference, message="Recorded. The informant will be told.")


async def check_may_act(ctx: Context, actor_id: str, actor: Principal, reference: str, body: ActionRequest) -> None:
    """May this team or watch record ``body`` on ``reference``? 404 for a report not routed yet,
    403 for one routed elsewhere or a watch trying to close. Shared by the API and the inbox page."""
    _may_record(actor, body)
    destinations = await ctx.store.run(repository.routed_to, reference)
    if destinations is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no routed report {reference}")
    if not _routed_to_actor(actor_id, actor, destinations):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{reference} was not routed to {actor_id}")


def _may_record(actor: Principal, body: ActionRequest) -> None:
    if actor.kind is PrincipalKind.WATCH and body.kind is not UpdateKind.ACTION:
        # A watch says what it did; whether the report is closed is the police's call.
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a watch may record actions; closing a report is for the police")


def _routed_to_actor(actor_id: str, actor: Principal, destinations: list[str]) -> bool:
    return actor.scope == "all" or actor_id in destinations


class ClusterAccepted(Accepted):
    reports: int


@router.post("/v1/clusters/{cluster_id}/actions", status_code=status.HTTP_202_ACCEPTED,
             response_model=ClusterAccepted, summary="Record what was done about a cluster of reports")
async def record_cluster_action(
    cluster_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
    body: ActionRequest,
    ctx: Ctx,
    api_key: ApiKey = None,
    idempotency_key: IdempotencyKey = None,
) -> ClusterAccepted:
    """One action for every report in the cluster routed to the caller: each informant hears it."""
    actor_id, actor = authorised(ctx, api_key, PrincipalKind.TEAM, PrincipalKind.WATCH)
    _may_record(actor, body)
    references = await ctx.store.run(cluster_references, cluster_id)
    if not references:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no cluster {cluster_id}")
    mine = []
    for reference in references:
        destinations = await ctx.store.run(repository.routed_to, reference)
        if destinations is not None and _routed_to_actor(actor_id, actor, destinations):
            mine.append(reference)
    if not mine:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no report in cluster {cluster_id} was routed to {actor_id}")
    key = f"cluster:{cluster_id}:{idempotency_key or uuid.uuid4().hex}"
    for reference in mine:
        update = reports.case_update(reference, body, actor_id, actor.name, key)
        await ctx.publisher.publish(CASES_UPDATES.name, reference, update)
    log.info("cluster_action_accepted", cluster=cluster_id, team=actor_id, reports=len(mine))
    return ClusterAccepted(reference=mine[0], reports=len(mine),
                           message=f"Recorded for {len(mine)} reports. Each informant will be told.")


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the broker answers")
async def readyz(ctx: Ctx) -> dict[str, str]:
    if not await ctx.publisher.ready():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "broker unavailable")
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
