"""The router's ports (``services.router.usecase``) on the outside world: the SQL store, and
faust topics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import faust
from sqlalchemy.orm import Session

from schemas import ClusterRef, RoutedItem, WatchItem
from services.common.sql import Store
from services.router.clustering import ClusterParams
from services.router.clusters import ClusterRequest, place_in_clusters
from services.router.usecase import RoutingTransaction
from services.store import routing as routing_store

T = TypeVar("T")


class SqlRoutingTransaction:
    """``RoutingTransaction`` on a SQLAlchemy session whose transaction the caller holds."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def place_in_clusters(self, requests: Sequence[ClusterRequest], params: ClusterParams) -> list[ClusterRef]:
        return place_in_clusters(self.session, requests, params)

    def add_routed(self, items: Sequence[RoutedItem], watch_items: Sequence[WatchItem]) -> int:
        return routing_store.add_routed(self.session, items, watch_items)


class SqlRoutingStore:
    """``RoutingStore`` on the SQL store: the work runs in the store's thread, in one
    ``session.begin()`` (which takes a connection only at the first query)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def in_transaction(self, work: Callable[[RoutingTransaction], T]) -> T:
        def run(session: Session) -> T:
            with session.begin():
                return work(SqlRoutingTransaction(session))

        return await self.store.run(run)


class FaustPublisher:
    """``Publisher`` on faust topics, by topic name."""

    def __init__(self, topics: Mapping[str, faust.TopicT]) -> None:
        self.topics = dict(topics)

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Any]:
        return await self.topics[topic].send(key=key, value=value)
