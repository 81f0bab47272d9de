"""Pure repairs of an instance's engine state: move a thread, add or remove one, cancel.

Each function validates against the current definition first and raises ``InvalidRepair``
without changing anything; afterwards the caller resumes the instance.
"""

from __future__ import annotations

from typing import Any

from engine._find import wait_event
from engine._shape import STOP_KINDS, shape_of
from engine.dsl import Wait, Workflow
from engine.errors import InvalidRepair, WorkflowFinished
from engine.interpreter import _Run
from engine.state import (
    MAIN_THREAD,
    State,
    Thread,
    ThreadStatus,
    WaitStatus,
    WorkflowStatus,
)


def _thread(state: State, thread_id: str) -> Thread:
    th = state.thread(thread_id)
    if th is None:
        raise InvalidRepair(
            state.id, f"no thread {thread_id!r} (threads: {[t.id for t in state.threads]})"
        )
    return th


def require_running(state: State) -> None:
    """Refuse a repair of a finished (or cancelled) instance."""
    if state.status is WorkflowStatus.FINISHED:
        raise WorkflowFinished(state.id)


def _tear_down(wf: Workflow, state: State, ctx: Any, threads: list[Thread]) -> None:
    for th in threads:
        for w in th.waits:
            w.status = WaitStatus.TEARDOWN
    _Run(wf, state, ctx, None).teardown_waits()


def goto(wf: Workflow, state: State, thread_id: str, statement: str, ctx: Any = None) -> None:
    """Put a thread on ``statement`` (a step, wait or WaitFor of that thread's body)."""
    require_running(state)
    th = _thread(state, thread_id)
    shape = shape_of(wf, wf.definition(), refresh=True)
    pos = shape.positions.get(statement)
    if pos is None or pos.kind not in STOP_KINDS:
        known = sorted(n for n, p in shape.positions.items() if p.kind in STOP_KINDS)
        raise InvalidRepair(
            state.id, f"{statement!r} is not a step, wait or WaitFor of the definition: {known}"
        )
    if pos.root != th.name:
        raise InvalidRepair(
            state.id, f"{statement!r} belongs to thread body {pos.root!r}, not {th.name!r}"
        )
    run = _Run(wf, state, ctx, None)
    target = run.find(statement, th, pos)
    _tear_down(wf, state, ctx, [th])
    state.pc += 1
    th.cur, th.case, th.pc, th.attempts, th.error = statement, "", state.pc, 0, ""
    if pos.kind == "Step":
        th.status = ThreadStatus.EXECUTING
    elif pos.kind == "WaitFor":
        th.status = ThreadStatus.WAITING_CONDITION
    else:
        assert isinstance(target, Wait)
        th.status = ThreadStatus.WAITING_EVENT
        th.waits = [wait_event(c, statement) for c in target.cases]
    state.status, state.error = WorkflowStatus.RESUMING, ""


def add_thread(wf: Workflow, state: State, thread_id: str, go: str) -> None:
    """Start a thread running the body of the ``Go`` statement ``go``."""
    require_running(state)
    if not 0 < len(thread_id) <= 200 or "/" in thread_id or not thread_id.isprintable():
        # it must be usable in DELETE .../threads/{thread} again
        raise InvalidRepair(state.id, f"invalid thread id {thread_id[:60]!r}")
    if state.thread(thread_id) is not None:
        raise InvalidRepair(state.id, f"thread {thread_id!r} exists already")
    pos = shape_of(wf, wf.definition(), refresh=True).positions.get(go)
    if pos is None or pos.kind != "Go":
        raise InvalidRepair(state.id, f"{go!r} is not a Go statement of the definition")
    state.pc += 1
    state.threads.append(Thread(id=thread_id, name=go))
    state.status, state.error = WorkflowStatus.RESUMING, ""


def remove_thread(wf: Workflow, state: State, thread_id: str, ctx: Any = None) -> None:
    """Stop a (non-main) thread, tearing down its waits."""
    require_running(state)
    if thread_id == MAIN_THREAD:
        raise InvalidRepair(state.id, "the main thread cannot be removed: cancel the instance")
    th = _thread(state, thread_id)
    _tear_down(wf, state, ctx, [th])
    state.threads.remove(th)
    state.pc += 1
    state.status, state.error = WorkflowStatus.RESUMING, ""


def retry_now(state: State) -> None:
    """Make failed steps run again at the next resume, with a fresh retry count."""
    require_running(state)
    failed = [t for t in state.threads if t.attempts > 0]
    if not failed:
        raise InvalidRepair(state.id, "no step has failed: nothing to retry")
    for th in failed:
        th.attempts, th.error = 0, ""  # a fresh retry count; the caller resumes next
    state.pc += 1
    state.status, state.error = WorkflowStatus.RESUMING, ""


def cancel(wf: Workflow, state: State, reason: str, ctx: Any = None) -> None:
    """End the instance now: every wait is torn down, so its timers become stale."""
    require_running(state)
    _tear_down(wf, state, ctx, state.threads)
    state.threads = []
    state.pc += 1
    state.status, state.error = WorkflowStatus.FINISHED, reason
