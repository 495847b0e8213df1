"""JSON logs on stderr, one object a line, each with the request id when there is one.

Configured by create_app (never at import), once per process however many apps a
process builds (the tests build many).
"""

from __future__ import annotations

import logging
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners swap it)."""

    traceport = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class RequestContext(logging.Filter):
    """Stamps records emitted during a request with its id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure(level: str) -> None:
    root = logging.getLogger()
    if not any(getattr(handler, "traceport", False) for handler in root.handlers):
        handler = _Stderr()
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601 in UTC
            )
        )
        handler.addFilter(RequestContext())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # weasyprint logs each step of every PDF at INFO: noise in a request log.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
