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
from phonenumbers import Leniency, PhoneNumberMatcher

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# International (+44...) and national (07..., 01...) numbers, spaced or URL-encoded (%2B).
PHONE_RE = re.compile(r"(?:\+|%2B|\b0)(?:[\s\-().]?\d){9,14}\b")
#: Keys whose values are personal data whatever they look like.
PERSONAL_KEYS = frozenset(
    {"name", "phone", "email", "to", "from_", "recipient", "address", "informant", "reporter", "subject"}
)
MASK = "[redacted]"


#: A match that is part of a longer token (a UUID, a hex id) or a date, time or decimal, not a number to call.
_NOT_A_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}|\d+\.\d+|\d{2}:\d{2}(?::\d{2})?")
_TOKEN_CHAR = re.compile(r"[0-9A-Za-z_-]")
#: Keys structlog adds itself: never personal, and a timestamp must stay readable.
_OWN_KEYS = frozenset({"timestamp", "level", "logger"})


def _mask_phones(text: str) -> str:
    """Every UK phone number in any format (447700900123, 7700 900123, +44 (0) 7700 900 123, and
    Ofcom's drama range), found with libphonenumber's lenient matcher."""
    if sum(c.isdigit() for c in text) < 7:
        return text
    out: list[str] = []
    last = 0
    for match in PhoneNumberMatcher(text, "GB", leniency=Leniency.POSSIBLE):
        start, end = match.start, match.end
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        inside_token = (before and _TOKEN_CHAR.match(before) and before not in "-_") or \
            (after and _TOKEN_CHAR.match(after) and after not in "-_" and not after.isdigit())
        if inside_token or _NOT_A_PHONE.fullmatch(match.raw_string) or \
                (before == "-" and start > 1 and text[start - 2].isalnum()) or \
                (after == "-" and end + 1 < len(text) and text[end + 1].isalnum()):
            continue
        out.append(text[last:start])
        out.append("[phone]")
        last = end
    out.append(text[last:])
    return "".join(out)


#: What an exception's text quotes of its input: pydantic's ``input_value=...`` and the bound
#: parameters SQLAlchemy prints. Free text and names there match no pattern, so they go whole.
_QUOTED_INPUT = (
    (re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.MULTILINE), "input_value=[redacted]"),
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.MULTILINE | re.DOTALL), "[parameters: redacted]"),
)


def mask_text(text: str) -> str:
    """Replace email addresses and phone numbers in free text, and the input an exception quotes."""
    for pattern, replacement in _QUOTED_INPUT:
        text = pattern.sub(replacement, text)
    return PHONE_RE.sub("[phone]", _mask_phones(EMAIL_RE.sub("[email]", text)))


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
        if key in _OWN_KEYS:
            continue
        if key.lower() in PERSONAL_KEYS and value is not None:
            event_dict[key] = MASK
        else:
            event_dict[key] = _mask(value)
    return event_dict


class DropQueryStrings(logging.Filter):
    """uvicorn's access log without query strings: they carry secrets (a track link's token,
    Open311's ``api_key``) and sometimes what a person typed. The path is kept; the client's
    address (an IP address is personal data) is not."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args: list[object] = list(record.args)
            args[0] = "-"
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        elif isinstance(record.msg, str) and "?" in record.msg:
            record.msg = re.sub(r"\?[^\s\"]*", "", record.msg)
        return True


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
            # Tracebacks are rendered to text first, so the mask sees what an exception says
            # (a pydantic error quotes the ``input_value`` it refused).
            structlog.processors.format_exc_info,
            mask_personal_data,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers go through the same masked handler, whatever uvicorn set up itself.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        served = logging.getLogger(name)
        served.handlers.clear()
        served.propagate = True
        served.disabled = False
        served.setLevel(logging.NOTSET)  # the root's level, as every other logger
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())
    # The HTTP clients of twilio and sendgrid log request bodies at DEBUG (a message's free text,
    # which no pattern can mask); they pass the mask like any other line, but are never produced.
    for noisy in ("twilio.http_client", "python_http_client", "aiokafka", "kafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
