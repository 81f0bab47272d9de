"""What a running step may know about itself, and rollback of data when user code fails."""

from __future__ import annotations

import copy
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from engine.dsl import Workflow


@dataclass(frozen=True)
class StepInfo:
    """What a running step may know about itself (see :func:`current_step`)."""

    workflow_id: str
    """Instance id."""
    thread_id: str
    """Thread running the step."""
    step: str
    """Step name."""
    pc: int
    """Program counter at which the thread reached the step (differs per loop pass)."""
    attempt: int
    """How many times this step already failed at this position (0 on the first try)."""

    @property
    def idempotency_key(self) -> str:
        """Same for every re-run of this step at this position and attempt, unique otherwise.

        Hand it to external systems so that a re-run after a crash is not applied twice.
        """
        return f"{self.workflow_id}/{self.thread_id}/{self.step}/{self.pc}/{self.attempt}"


CURRENT_STEP: ContextVar[list[Any] | None] = ContextVar("current_step", default=None)
"""During a resume: ``[instance id, running thread or None, step name]``, updated per step
(cheaper than setting the variable for every step)."""


def current_step() -> StepInfo | None:
    """Inside a step's action: the running step's identity; elsewhere None."""
    cur = CURRENT_STEP.get()
    if cur is None or cur[1] is None:
        return None
    wf_id, th, name = cur
    return StepInfo(wf_id, th.id, name, th.pc, th.attempts)


_ATOMIC = frozenset({int, float, str, bool, type(None), bytes})


def snapshot(wf: Workflow) -> dict[str, Any]:
    """The data as it is, deep enough that in-place changes do not reach the copy."""
    snap = wf.__dict__.copy()
    for k, v in snap.items():
        if type(v) not in _ATOMIC:
            flat = type(v) is list and _ATOMIC.issuperset(map(type, v))
            snap[k] = v.copy() if flat else copy.deepcopy(v)
    return snap


def restore(wf: Workflow, snap: dict[str, Any]) -> None:
    """Put the data back as ``snapshot`` saw it."""
    wf.__dict__.clear()
    wf.__dict__.update(snap)


def describe_exc(e: BaseException) -> str:
    """``Type: message`` of an exception, for state and logs."""
    try:
        text = str(e)
    except Exception:  # an exception whose message itself fails
        text = ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
