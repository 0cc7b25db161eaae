"""Running a faust app as a service process with the project's logging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from services.common.config_files import ROOT
from services.common.kafka_security import KafkaSecurity, faust_options
from services.common.logging import configure_logging

#: Where faust keeps each app's data folder unless told otherwise: never the working directory.
LOCAL_DATA = ROOT / ".local" / "faust"


def app_options(*, bootstrap: str, web_port: int, session_timeout: float = 30.0,
                security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Settings every faust app in the project shares; with ``security`` (SASL_SSL), its credentials."""
    return {
        **faust_options(security),
        "broker_session_timeout": session_timeout,
        "broker_heartbeat_interval": max(1.0, session_timeout / 10),
        "broker": f"kafka://{bootstrap}",
        "store": "memory://",
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "consumer_auto_offset_reset": "earliest",
        "topic_disable_leader": True,
        "topic_allow_declare": False,
        "web_host": "127.0.0.1",
        "web_port": web_port,
        "web_in_thread": False,
        "broker_commit_interval": 1.0,
    }


def data_folder(configured: Path | None, app_id: str) -> str:
    """faust's data folder for an app: the one configured, or ``.local/faust/<app id>``. Its
    parent is created here (faust makes only the last level)."""
    folder = configured if configured is not None else LOCAL_DATA / app_id
    folder.parent.mkdir(parents=True, exist_ok=True)
    return str(folder)


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """A topic whose keys and values reach agents as bytes: decoding is ours, so a message that
    does not decode is dead-lettered with its reason instead of crashing the agent."""
    return app.topic(*names, key_serializer="raw", value_serializer="raw")


class Worker(faust.Worker):
    """faust's worker, with our masked structlog output instead of its own log format."""

    def __init__(self, app: faust.App, *, log_level: str, log_json: bool) -> None:
        self._log_level = log_level
        self._log_json = log_json
        super().__init__(app, loglevel=log_level, redirect_stdouts=False, quiet=True)

    def on_setup_root_logger(self, logger: Any, level: int) -> None:
        configure_logging(self._log_level, json=self._log_json)


def run(app: faust.App, *, log_level: str, log_json: bool) -> None:
    configure_logging(log_level, json=log_json)
    Worker(app, log_level=log_level, log_json=log_json).execute_from_commandline()
