"""Structured JSON logging with a last-line redaction of anything shaped like an ID number or phone."""

import logging
import re
import sys
import traceback
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from app.context import request_id_var

_PII_PATTERN = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?!\d)")


def redact(text: str) -> str:
    return _PII_PATTERN.sub("[redacted]", text)


class RedactingFilter(logging.Filter):
    """The code never logs personal data on purpose; this catches what slips through (e.g. exceptions)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _frames_only(record.exc_info[1])
            record.exc_info = None
        return True


class RequestIdFilter(logging.Filter):
    """Stamps every line written while a request is served (by any module) with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def _frames_only(exc: BaseException) -> str:
    """Where it failed and what kind of error, without the error's message: a message can quote what was
    sent (a name), which no pattern can tell apart from other text."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    return redact(f"Traceback (most recent call last):\n{frames}{kind}: (message withheld)")


_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    # ISO 8601 with the offset: a line read on another machine, or beside the audit rows (UTC), is unambiguous
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every poll at INFO; our jobs log what they do themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Access lines carry query strings; our own middleware logs method, route and status instead.
    logging.getLogger("uvicorn.access").disabled = True
