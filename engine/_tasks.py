"""What a task is for, and whether it still is: task names, staleness, continuations."""

from __future__ import annotations

from engine.errors import (
    AmbiguousEvent,
    EventNotAwaited,
    StaleCallback,
    StatementNotFound,
    UnknownEvent,
    WorkflowFinished,
)
from engine.scheduler import TaskKind, TaskPayload, task_name
from engine.state import State, ThreadStatus, WorkflowStatus
from engine.store import InstanceDoc

STALE_EVENT_ERRORS = (
    StaleCallback,
    EventNotAwaited,
    WorkflowFinished,
    UnknownEvent,
    StatementNotFound,
    AmbiguousEvent,
)
"""Errors that make a timer task stale: it is acknowledged and changes nothing."""


def can_continue(state: State) -> bool:
    """Some thread can move now (a failed step waiting for its retry does not count)."""
    return state.status is not WorkflowStatus.FINISHED and any(
        t.status in (ThreadStatus.EXECUTING, ThreadStatus.RESUMING) and t.attempts == 0
        for t in state.threads
    )


def retry_due(state: State, retry: TaskPayload) -> bool:
    """Whether ``retry`` is for the thread's current failure (not an older one)."""
    th = state.thread(retry.thread)
    return (
        th is not None
        and th.cur == retry.step
        and th.attempts == retry.attempt > 0
        and th.pc == retry.pc
    )


def still_pending(doc: InstanceDoc, task: TaskPayload) -> bool:
    """Whether a long timer's or retry's hop should go on: the instance still waits for the
    timer's event at its pc, or still has the retry's failure."""
    state = State.model_validate_json(doc.state)
    if task.kind is TaskKind.RETRY:
        return retry_due(state, task)
    th = state.thread(task.thread)
    return th is not None and th.pc == task.pc and task.event in doc.waiting


def base_name(p: TaskPayload) -> str:
    """The deterministic name of a task (a long timer's or retry's hops add ``-hop<n>``)."""
    if p.kind is TaskKind.RETRY:
        return task_name("retry", p.workflow, p.id, p.thread, p.step, p.pc)
    if p.kind is TaskKind.RESUME:
        return task_name("resume", p.workflow, p.id, p.pc)
    return task_name("timer", p.workflow, p.id, p.thread, p.event, p.pc)
