"""Seeding the store in tests with what the router would have written: its batch writes
(``services.store.routing.add_routed``), each in a transaction of its own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from schemas import RoutedItem, WatchItem
from services.store.routing import add_routed


def record_routing(session: Session, item: RoutedItem) -> bool:
    """Record one routed report (and its decision), as the router does; False if already there."""
    with session.begin():
        return add_routed(session, [item], []) == 1


def record_watch_items(session: Session, items: Sequence[WatchItem]) -> None:
    """Record watch items, as the router does with the reports that made them."""
    with session.begin():
        add_routed(session, [], items)
