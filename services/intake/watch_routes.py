"""What a watch's coordinators can read: their own watch's items, redacted by the router
before they were stored, each with what was done as a watch may read it (the notes the police
wrote for watches and the watch's own entries). A key for one watch cannot read another's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from schemas import Outcome, WatchItem
from schemas.events import Model
from services.intake import usecases
from services.intake.access import Principal
from services.intake.auth import Ctx, require
from services.intake.permissions import Permission
from services.intake.routes import answering
from services.store.paging import Cursor

router = APIRouter()
Watch = Annotated[Principal, Depends(require(Permission.LIST_WATCH_ITEMS))]


class WatchUpdate(Model):
    """What was done, as a watch may read it: the watch's own entries, and the notes the police
    wrote for watches (never the police's words to the informant)."""

    #: The watch's name, or "The police".
    by: str
    text: str
    recorded_at: datetime
    #: Set when the update closed the report.
    outcome: Outcome | None = None


class ListedWatchItem(WatchItem):
    #: Oldest first.
    updates: tuple[WatchUpdate, ...] = ()


class WatchItems(Model):
    watch_id: str
    #: Newest first.
    items: tuple[ListedWatchItem, ...]
    #: Pass as ``cursor`` for the next page; null after the last page.
    next_cursor: str | None = None


@router.get("/v1/watches/{watch_id}/items", response_model=WatchItems,
            summary="List a watch's items (watch coordinators)")
async def list_watch_items(
    watch_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")],
    ctx: Ctx,
    watch: Watch,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, newest first.")] = 50,
    cursor: Annotated[str | None, Query(
        max_length=200, description="The `next_cursor` of the previous page: the items after it, newest "
        "first (keyset pagination, stable while new items arrive). Omit for the first page.")] = None,
) -> WatchItems:
    """Newest first, a page at a time: follow ``next_cursor`` until it is null to read every item."""
    try:
        before = Cursor.parse(cursor)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "cursor is not one this API gave") from exc
    with answering():
        items, following = await usecases.list_watch_items(ctx, watch, watch_id, limit, before)
        updates = await usecases.watch_items_updates(ctx, watch, [item.reference for item in items])
        listed = [ListedWatchItem(**item.model_dump(), updates=tuple(
            WatchUpdate(by=u["actor"], text=u["text"], recorded_at=u["recorded_at"], outcome=u["outcome"])
            for u in updates[item.reference])) for item in items]
    return WatchItems(watch_id=watch_id, items=tuple(listed), next_cursor=following)
