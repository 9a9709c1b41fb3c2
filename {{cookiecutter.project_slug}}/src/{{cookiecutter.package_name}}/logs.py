"""Logging for the app, the worker and uvicorn: one handler on the root logger, JSON lines in
production (`LOG_FORMAT` overrides), readable text elsewhere, every record of a request
carrying that request's id.

The request id comes from the `X-Request-ID` header when it is a sane token, is generated
otherwise, and is echoed in the response (problems.RequestContextMiddleware sets it).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from {{ cookiecutter.package_name }}.config import LogFormat, Settings

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a client: short and printable, so it cannot forge log lines.
ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_from(header: str | None) -> str:
    """The client's id if it is acceptable, a new one otherwise."""
    if header is not None and ACCEPTABLE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class AppLogHandler(logging.StreamHandler[TextIO]):
    """The one handler configure_logging installs (found again by its type). It writes to
    `fixed_stream` if set, else to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        self.fixed_stream: TextIO | None = None
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return self.fixed_stream or sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass  # StreamHandler's own assignments; the stream is chosen at each write


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := getattr(record, "request_id", None):
            line["request_id"] = rid
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            client, method, path, _, status = record.args
            line["http"] = {"method": method, "path": path, "status": status, "client": client}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(request)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.request = f"[{rid}] " if rid else ""
        return super().format(record)


def _record_with_request_id(factory: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make_record.adds_request_id = True  # type: ignore[attr-defined]
    return make_record


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Install (or re-configure) the app's handler; safe to call more than once. Records
    are stamped with the request id whatever handler writes them (pytest's too)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "adds_request_id", False):
        logging.setLogRecordFactory(_record_with_request_id(factory))
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, AppLogHandler)), None)
    if handler is None:
        handler = AppLogHandler()
        root.addHandler(handler)
    handler.fixed_stream = stream
    json_lines = settings.effective_log_format == LogFormat.JSON
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:  # uvicorn's own handlers and format give way to ours
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
