"""What a watch's coordinators can read: their own watch's items, redacted by the router
before they were stored. A key for one watch cannot read another's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from schemas import WatchItem
from schemas.events import Model
from services.intake import usecases
from services.intake.access import Principal
from services.intake.auth import Ctx, require
from services.intake.permissions import Permission
from services.intake.routes import answering

router = APIRouter()
Watch = Annotated[Principal, Depends(require(Permission.LIST_WATCH_ITEMS))]


class WatchItems(Model):
    watch_id: str
    #: Newest first.
    items: tuple[WatchItem, ...]


@router.get("/v1/watches/{watch_id}/items", response_model=WatchItems,
            summary="List a watch's items (watch coordinators)")
async def list_watch_items(
    watch_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")],
    ctx: Ctx,
    watch: Watch,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, newest first.")] = 50,
) -> WatchItems:
    with answering():
        items = await usecases.list_watch_items(ctx, watch, watch_id, limit)
    return WatchItems(watch_id=watch_id, items=tuple(items))
