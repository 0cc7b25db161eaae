"""What a watch's coordinators can read: their own watch's items, redacted by the router
before they were stored. A key for one watch cannot read another's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from schemas import WatchItem
from schemas.events import Model
from services.common.logging import get_logger
from services.intake.access import PrincipalKind
from services.intake.routes import ApiKey, Ctx, authorised
from services.store import routing as routing_store

log = get_logger(__name__)
router = APIRouter()


class WatchItems(Model):
    watch_id: str
    #: Newest first.
    items: tuple[WatchItem, ...]


@router.get("/v1/watches/{watch_id}/items", response_model=WatchItems,
            summary="List a watch's items (watch coordinators)")
async def list_watch_items(
    watch_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")],
    ctx: Ctx,
    api_key: ApiKey = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, newest first.")] = 50,
) -> WatchItems:
    principal_id, _watch = authorised(ctx, api_key, PrincipalKind.WATCH)
    if principal_id != watch_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this key may list only its own watch's items")
    rows = await ctx.store.run(routing_store.watch_items_for, watch_id, limit=limit)
    log.info("watch_items_listed", watch=watch_id, count=len(rows))
    return WatchItems(watch_id=watch_id, items=tuple(WatchItem.model_validate(r) for r in rows))
