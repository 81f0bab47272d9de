"""Deferred work (timers, step retries, continued resumes) and the Scheduler interface."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from engine._names import NAME_PATTERN

MAX_SCHEDULE_AHEAD = timedelta(days=30) - timedelta(hours=1)
"""Cloud Tasks refuses schedule times more than 30 days ahead; longer timers chain hops."""


class TaskKind(StrEnum):
    """What a task asks the runtime to do."""

    TIMER = "timer"
    """Deliver a ``Timeout`` event."""
    RETRY = "retry"
    """Run a failed step again."""
    RESUME = "resume"
    """Continue a resume that ran past the per-request budget."""


class TaskPayload(BaseModel):
    """The JSON body of every task (signed with HMAC by the scheduler)."""

    model_config = ConfigDict(extra="forbid")

    kind: TaskKind
    """What to do."""
    workflow: Annotated[str, StringConstraints(pattern=NAME_PATTERN.pattern)]
    """Workflow name."""
    id: Annotated[str, StringConstraints(pattern=NAME_PATTERN.pattern)]
    """Instance id."""
    pc: int
    """Program counter the task was created for; a task for an older pc is stale."""
    thread: str = ""
    """Thread the timer or retry belongs to."""
    event: str = ""
    """Timer: the ``Timeout`` event to deliver."""
    step: str = ""
    """Retry: the failed step."""
    attempt: int = 0
    """Retry: how many failures the step had when the retry was scheduled."""
    due: AwareDatetime | None = None
    """Timer: when it is really due (a long timer arrives early and re-schedules itself)."""
    hop: int = 0
    """Timer: how many times it has re-scheduled itself."""


@dataclass(frozen=True)
class TaskSpec:
    """A task to create."""

    name: str
    """Deterministic task id: creating it twice creates it once."""
    eta: datetime
    """When to deliver it (at most ``MAX_SCHEDULE_AHEAD`` from now)."""
    payload: TaskPayload
    """The body."""


class Scheduler(Protocol):
    """Where deferred tasks go (Cloud Tasks in production)."""

    def enqueue(self, task: TaskSpec) -> None:
        """Create the task; a task of the same name that exists already is success."""
        ...

    def cancel(self, name: str) -> None:
        """Delete the task if the service allows; best effort, never raises for a missing one."""
        ...


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def task_name(*parts: object) -> str:
    """A valid, deterministic Cloud Tasks task id for these parts (readable prefix + hash)."""
    raw = "\x1f".join(str(p) for p in parts)
    digest = hashlib.sha256(raw.encode()).hexdigest()[:20]
    readable = _UNSAFE.sub("_", "-".join(str(p) for p in parts))[:200]
    return f"{readable}-{digest}"
