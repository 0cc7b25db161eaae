"""HTTP routes: decode, call the use case, answer (its domain errors as 4xx JSON). Thin on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response, status

from schemas.events import REFERENCE_PATTERN
from services.common import metrics
from services.intake import usecases
from services.intake.access import Principal
from services.intake.auth import ApiKey, Ctx, api_principal, client_of, require
from services.intake.context import Context
from services.intake.permissions import Permission
from services.intake.reports import (
    Accepted,
    ActionRequest,
    ClusterAccepted,
    PublicReportRequest,
    ThirdPartyReportRequest,
)

__all__ = ["ApiKey", "ClusterAccepted", "Ctx", "IdempotencyKey", "router"]

router = APIRouter()

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=100,
           description="Retry a request with the same key and body and it creates nothing new. Keys are "
                       "the caller's own (its API key, or its address when it sends none); the same key "
                       "with a different body is refused (422)."),
]
Organisation = Annotated[Principal, Depends(require(Permission.SUBMIT_FOR_OTHERS))]
TeamOrWatch = Annotated[Principal, Depends(require(Permission.RECORD_ACTION))]


@contextmanager
def answering() -> Iterator[None]:
    """The use cases' domain errors as the API's answers."""
    try:
        yield
    except usecases.IdempotencyKeyReused as exc:
        raise HTTPException(
            422,
            {"error": "invalid request",
             "fields": [{"field": "Idempotency-Key", "message": str(exc)}]},
        ) from exc
    except usecases.UnknownCategory as exc:
        raise HTTPException(
            422,
            {"error": "invalid request",
             "fields": [{"field": exc.field, "message": "unknown category", "allowed": exc.allowed}]},
        ) from exc
    except usecases.InvalidField as exc:
        field: dict[str, object] = {"field": exc.field, "message": exc.message}
        if exc.allowed:
            field["allowed"] = exc.allowed
        raise HTTPException(422, {"error": "invalid request", "fields": [field]}) from exc
    except usecases.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except usecases.UnsafeWindows as exc:
        raise HTTPException(
            422, {"error": "invalid request", "fields": [{"field": exc.field, "message": exc.message}]}) from exc
    except usecases.Unauthenticated as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    except usecases.Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except usecases.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def caller_scope(request: Request, ctx: Context, principal: Principal | None) -> str:
    """Whose ``Idempotency-Key`` this is: the principal of the API key sent with it, else (an
    anonymous caller) the client address the intake sees. Behind a proxy that does not pass the
    address on, anonymous callers share one scope; keys are still bound to the request body, so
    two of them using the same key is refused (422), never merged."""
    if principal is not None:
        return f"principal:{principal.id}"
    return f"address:{client_of(request, ctx)}"


@router.post("/v1/reports", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Pass on non-urgent information")
async def submit_report(body: PublicReportRequest, request: Request, ctx: Ctx,
                        principal: Annotated[Principal | None, Depends(api_principal)],
                        idempotency_key: IdempotencyKey = None) -> Accepted:
    with answering():
        return await usecases.submit_public_report(ctx, body, idempotency_key, quiet=ctx.quiet_hours,
                                                   scope=caller_scope(request, ctx, principal))


@router.post("/v1/third-party/reports", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Report on someone's behalf (organisations)")
async def submit_third_party_report(
    body: ThirdPartyReportRequest, ctx: Ctx, organisation: Organisation, idempotency_key: IdempotencyKey = None
) -> Accepted:
    with answering():
        return await usecases.submit_third_party_report(ctx, organisation, body, idempotency_key,
                                                        quiet=ctx.quiet_hours)


@router.post("/v1/reports/{reference}/actions", status_code=status.HTTP_202_ACCEPTED,
             response_model=Accepted, summary="Record what was done (teams and watch coordinators)")
async def record_action(
    reference: Annotated[str, Path(pattern=REFERENCE_PATTERN)],
    body: ActionRequest,
    ctx: Ctx,
    actor: TeamOrWatch,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    with answering():
        return await usecases.record_action(ctx, actor, reference, body, idempotency_key)


@router.post("/v1/clusters/{cluster_id}/actions", status_code=status.HTTP_202_ACCEPTED,
             response_model=ClusterAccepted, summary="Record what was done about a cluster of reports")
async def record_cluster_action(
    cluster_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
    body: ActionRequest,
    ctx: Ctx,
    actor: TeamOrWatch,
    idempotency_key: IdempotencyKey = None,
) -> ClusterAccepted:
    """One action for every report in the cluster routed to the caller: each informant hears it."""
    with answering():
        return await usecases.record_cluster_action(ctx, actor, cluster_id, body, idempotency_key)


@router.get("/v1/publications", summary='"You said, we did" for a neighbourhood, as police.uk publishes it',
            responses={200: {"content": {"application/json": {"example": [
                {"issue": "Speeding on Bedford Road", "issue-date": "2026-10-01T00:00:00",
                 "action": "Speed checks on three mornings", "action-date": "2026-10-20T00:00:00"}]}}}})
async def list_publications(
    ctx: Ctx,
    neighbourhood: Annotated[str, Query(max_length=100, description="The neighbourhood's area id")],
) -> list[dict[str, str]]:
    """Approved publications only (a person other than the author approved each), latest action
    first, in data.police.uk's neighbourhood-priority shape: ``issue``, ``issue-date``, ``action``,
    ``action-date``. An unknown neighbourhood is refused (422, the field named, the known ones listed)."""
    with answering():
        rows = await usecases.approved_publications(ctx, neighbourhood)
    return [usecases.police_uk_priority(r) for r in rows]


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
