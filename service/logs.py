"""Structured logs: one JSON object a line, phone numbers masked.

The concierge already masks the phones it names; masking the whole line again here is the net
under everything else that logs (the HTTP server, a library's error message quoting a body).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TextIO

from concierge.phones import mask_phones_in


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_phones_in(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = mask_phones_in(f"{record.exc_info[0].__name__}: {record.exc_info[1]}")
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """Route every logger (ours, the concierge's, uvicorn's) to one JSON-lines handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "concierge"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
