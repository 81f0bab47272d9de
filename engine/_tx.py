"""Per-request plumbing of the service: the instance locks, the engine context of one
transaction attempt, and request fingerprints."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from engine._tasks import base_name
from engine.errors import HandlerFailed, TimeoutTooLong
from engine.scheduler import TaskKind, TaskPayload
from engine.state import CallbackRequest

MAX_TIMER = timedelta(days=100 * 365)
"""The longest ``Timeout`` the runtime schedules (a chain of 30-day hops)."""


class KeyedLocks:
    """One lock per instance key, so requests for one instance queue inside a process
    instead of contending in Firestore transactions."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key`` (made on first use, dropped when nobody waits for it)."""
        with self._mu:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._mu:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


class TxContext:
    """The engine context of one transaction attempt: it schedules ``Timeout`` timers (before
    the commit) and collects work for after the commit (timer deletions)."""

    def __init__(
        self,
        workflow: str,
        now: datetime,
        schedule: Callable[[str, TaskPayload, datetime], None],
        cancel: Callable[[str], None],
    ) -> None:
        self.workflow = workflow
        """The workflow's registered name."""
        self.now = now
        """The time of this attempt."""
        self.schedule = schedule
        """Enqueues a task (name, payload, now)."""
        self.cancel = cancel
        """Deletes a task by name (best effort, after the commit)."""
        self.after_commit: list[Callable[[], None]] = []
        """Work to do once the transaction committed."""

    def schedule_timeout(self, req: CallbackRequest, seconds: float) -> str:
        """Enqueue the timer task of a ``Timeout`` case; its name is kept with the wait."""
        if seconds > MAX_TIMER.total_seconds():
            raise TimeoutTooLong(req.workflow_id, req.name, seconds, MAX_TIMER.total_seconds())
        payload = TaskPayload(
            kind=TaskKind.TIMER,
            workflow=self.workflow,
            id=req.workflow_id,
            pc=req.pc,
            thread=req.thread_id,
            event=req.name,
            due=self.now + timedelta(seconds=seconds),
        )
        name = base_name(payload)
        self.schedule(name, payload, self.now)
        return name

    def cancel_timeout(self, req: CallbackRequest, handled: bool) -> None:
        """Delete the timer of a wait that ended otherwise, after the commit."""
        if req.setup_data and not handled:  # a handled timer is the task running right now
            cancel, name = self.cancel, req.setup_data
            self.after_commit.append(lambda: cancel(name))


def fingerprint(event: str, input: Any, thread_id: str | None) -> str:
    """A digest of what a request asks, to tell a true repeat from a reused key."""
    text = json.dumps([event, input, thread_id], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def jsonable(output: Any, instance_id: str, event: str) -> Any:
    """A handler's output as JSON-able data, or ``HandlerFailed`` (nothing applied)."""
    try:
        return to_jsonable_python(output)
    except Exception as e:
        raise HandlerFailed(instance_id, event, f"its output is not JSON-serialisable: {e}") from e
