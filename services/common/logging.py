"""structlog set-up shared by every service: JSON in production, readable in a terminal,
and personal data masked in every line, including lines from libraries (twilio, sendgrid,
aiokafka) that log through the standard library.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# International (+44...) and national (07..., 01...) numbers, spaced or URL-encoded (%2B).
PHONE_RE = re.compile(r"(?:\+|%2B|\b0)(?:[\s\-().]?\d){9,14}\b")
#: Keys whose values are personal data whatever they look like.
PERSONAL_KEYS = frozenset(
    {"name", "phone", "email", "to", "from_", "recipient", "address", "informant", "reporter", "subject"}
)
MASK = "[redacted]"


def mask_text(text: str) -> str:
    """Replace email addresses and phone numbers in free text."""
    return PHONE_RE.sub("[phone]", EMAIL_RE.sub("[email]", text))


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in PERSONAL_KEYS else _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_personal_data(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no phone number, email or name leaves the process in a log line."""
    for key, value in list(event_dict.items()):
        if key.lower() in PERSONAL_KEYS and value is not None:
            event_dict[key] = MASK
        else:
            event_dict[key] = _mask(value)
    return event_dict


def configure_logging(level: str = "INFO", json: bool = True, stream: Any = None) -> None:
    """Route structlog and standard-library logging through one masked pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.PositionalArgumentsFormatter()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            mask_personal_data,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The HTTP clients of twilio and sendgrid log request bodies at DEBUG; they pass the mask
    # like any other line, but there is no reason to produce them.
    for noisy in ("twilio.http_client", "aiokafka", "kafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
