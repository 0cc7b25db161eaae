"""Running the store's blocking SQLAlchemy calls from asyncio code without stalling the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker

P = ParamSpec("P")
R = TypeVar("R")


class Store:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def run(self, fn: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        def call() -> R:
            with self._sessions() as session:
                return fn(session, *args, **kwargs)

        return await asyncio.to_thread(call)
