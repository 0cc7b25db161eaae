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

from schemas import Informant, Location, PublicContact, ReportDetails
from schemas.events import new_reference
from services.intake.app import create_app
from services.intake.publisher import PublishFailed
from services.intake.settings import IntakeSettings
from services.router.config import load_routing_config
from services.router.routing import routed_item, watch_items
from services.store.db import make_engine, make_sessions, migrate
from tests.fakes.store import record_routing, record_watch_items


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


def route(client: IntakeTestClient, category: str = "speeding",
          text: str = "Cars racing on Bedford Road, I'm Jo Bloggs on 07700 900123") -> str:
    """Route a report near Bedford Road as the router would: project it and its watch items into
    the client's store. Returns the reference."""
    config = load_routing_config()
    contact = PublicContact(
        reference=new_reference(),
        report=ReportDetails(category=category, description=text,
                             location=Location(latitude=52.125, longitude=-0.495,
                                               description="outside 12 Bedford Road")),
        informant=Informant(name="Jo Bloggs", phone="07700 900123", email="jo@example.org"),
    )
    item = routed_item(contact, config)
    with client.sessions() as s:
        record_routing(s, item)
    with client.sessions() as s:
        record_watch_items(s, watch_items(item, config))
    return contact.reference
