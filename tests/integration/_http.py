"""Small HTTP helpers for integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

TIMEOUT = 30


def post(base: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
    """POST JSON (or nothing) to ``base + path``."""
    kw.setdefault("timeout", TIMEOUT)
    if body is None:
        return requests.post(base + path, **kw)
    return requests.post(base + path, json=body, **kw)


def get(base: str, path: str) -> requests.Response:
    """GET ``base + path``."""
    return requests.get(base + path, timeout=TIMEOUT)


def eventually(check: Callable[[], Any], timeout: float = 30, every: float = 0.2) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s (last: {last!r})")
