"""The intake in process, for tests: a TestClient over a fresh SQLite store, with Kafka replaced
by a recording publisher. (The real publisher is tested against a real broker in
``tests/integration``.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from services.intake.app import create_app
from services.intake.publisher import PublishFailed
from services.intake.settings import IntakeSettings
from services.store.db import make_engine, make_sessions, migrate


class RecordingPublisher:
    """Keeps what would have been published; ``down = True`` makes it refuse like a dead broker."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self.down = False

    async def publish(self, topic: str, key: str, event: BaseModel) -> None:
        if self.down:
            raise PublishFailed("broker unavailable: test")
        self.events.append((topic, key, event))

    async def ready(self) -> bool:
        return not self.down

    async def stop(self) -> None:
        pass


class IntakeTestClient(TestClient):
    recorder: RecordingPublisher
    sessions: sessionmaker[Session]


@contextmanager
def intake_client(tmp_path: Path, **settings: Any) -> Iterator[IntakeTestClient]:
    """The intake app with ``settings`` over a migrated SQLite store in ``tmp_path``."""
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    recorder = RecordingPublisher()
    with IntakeTestClient(create_app(IntakeSettings(database_url=url, **settings), publisher=recorder)) as client:
        client.recorder = recorder
        client.sessions = make_sessions(make_engine(url))
        yield client
