"""Structured logs: one JSON object per line with a ``severity``, as Cloud Logging expects."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

_lock = threading.Lock()


def log(severity: str, message: str, **fields: Any) -> None:
    """Write one JSON log line to stderr (``severity``: DEBUG, INFO, WARNING, ERROR)."""
    line = json.dumps({"severity": severity, "message": message, **fields}, default=str)
    with _lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
