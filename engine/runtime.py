"""The service: create instances, deliver events, run tasks, over a Store and a Scheduler.

Every change is one store transaction: read the instance document, handle the event and
resume, write it back. Timers and retries are enqueued *inside* the transaction function,
before the commit, under deterministic names: a crash after enqueueing leaves a task that
finds the instance unchanged and is ignored as stale, so no timer is ever lost. Timer
deletions happen after the commit, best effort.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from engine._log import log
from engine._names import is_name
from engine._tasks import STALE_EVENT_ERRORS, base_name, can_continue, retry_due, still_pending
from engine._tx import KeyedLocks, TxContext, fingerprint, jsonable
from engine.dsl import Workflow
from engine.errors import (
    IdempotencyKeyReused,
    InstanceExists,
    InstanceNotFound,
    InstanceTooLarge,
    InvalidData,
    InvalidName,
    InvalidState,
    StepFailed,
    UnknownEvent,
    UnknownWorkflow,
)
from engine.interpreter import handle_event, new_state, resume
from engine.registry import Registry, default_registry, unknown_fields
from engine.scheduler import (
    MAX_SCHEDULE_AHEAD,
    Scheduler,
    TaskKind,
    TaskPayload,
    TaskSpec,
)
from engine.state import (
    State,
    Thread,
    WaitStatus,
    WorkflowStatus,
)
from engine.store import Change, HistoryEntry, HistoryPage, InstanceDoc, Page, Store, utcnow

R = TypeVar("R")

MAX_DOCUMENT_BYTES = 900_000
"""Largest state + data JSON + kept idempotent responses an instance may grow to (Firestore's
limit is 1 MiB a document); older kept responses make way first."""

CHECKPOINT_RESUME_DELAY = timedelta(seconds=30)
"""In checkpoint-per-step mode, the safety resume task fires this late (the request itself
normally continues first, and the task then finds nothing to do)."""


def view(doc: InstanceDoc) -> dict[str, Any]:
    """The API's picture of an instance: ``{"id", "workflow", "meta", "state"}``."""
    return {
        "id": doc.id,
        "workflow": doc.workflow,
        "meta": json.loads(doc.state),
        "state": json.loads(doc.data),
    }


class Service:
    """Create instances, deliver events and run tasks, each in one store transaction."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        registry: Registry | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        moves_per_request: int = 1000,
        history: bool = False,
        retention: timedelta = timedelta(days=30),
        seconds_per_request: float = 20.0,
        history_retention: timedelta = timedelta(days=365),
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.registry = registry if registry is not None else default_registry
        self.clock = clock
        self.moves_per_request = moves_per_request
        self.keep_history = history
        """Append a history entry per request (one more write each)."""
        self.retention = retention
        """How long a finished instance is kept before its TTL deletes it."""
        self.history_retention = history_retention
        """How long a history entry is kept before its TTL deletes it."""
        self.seconds_per_request = seconds_per_request
        """Resume time one request may spend before it commits and continues in a task."""
        self._locks = KeyedLocks()

    # -- public operations ----------------------------------------------------------------

    def create(self, workflow: str, id: str, data: dict[str, Any] | None) -> dict[str, Any]:
        """Create an instance from initial ``data`` and resume it; ``InstanceExists`` if taken."""
        cls = self.registry.get(workflow)
        if not is_name(id):
            raise InvalidName("instance id", id)
        if data is not None and not isinstance(data, dict):
            problem = {"loc": [], "msg": "initial data must be an object", "type": "dict_type"}
            raise InvalidData(workflow, [problem])
        unknown = unknown_fields(cls, data or {})
        if unknown:
            raise InvalidData(
                workflow,
                [{"loc": [k], "msg": "unknown field", "type": "extra_forbidden"} for k in unknown],
            )
        try:
            wf0 = cls.model_validate(data or {})
        except ValidationError as e:
            raise InvalidData(workflow, [dict(x) for x in e.errors(include_url=False)]) from e
        initial = wf0.model_dump_json()

        def fn(doc: InstanceDoc | None, ctx: TxContext) -> tuple[Change | None, dict[str, Any]]:
            if doc is not None:
                raise InstanceExists(workflow, id)
            wf = cls.model_validate_json(initial)
            state = new_state(id, workflow)
            self.advance(cls, wf, state, ctx)
            change = self.change(None, wf, state, ctx, "create", "", data, None, 0)
            assert change.doc is not None
            return change, view(change.doc)

        created = self.mutate(workflow, id, fn)
        return self.get(workflow, id) if self.drive(cls, workflow, id) else created

    def get(self, workflow: str, id: str) -> dict[str, Any]:
        """The instance's view; ``InstanceNotFound`` if there is none."""
        self.registry.get(workflow)
        doc = self.store.get(workflow, id)
        if doc is None:
            raise InstanceNotFound(workflow, id)
        return view(doc)

    def history(self, workflow: str, id: str, *, after: int = 0, limit: int = 50) -> HistoryPage:
        """A page of the instance's history, oldest first; ``InstanceNotFound`` if none."""
        self.registry.get(workflow)
        doc = self.store.get(workflow, id)
        if doc is None:
            raise InstanceNotFound(workflow, id)
        return self.store.history(workflow, id, after=after, upto=doc.history_seq, limit=limit)

    def positions(self, workflow: str, id: str) -> frozenset[str]:
        """Where the instance's threads sit, and ``wait/event`` for each awaited event."""
        self.registry.get(workflow)
        doc = self.store.get(workflow, id)
        if doc is None:
            raise InstanceNotFound(workflow, id)
        state = State.model_validate_json(doc.state)
        here = {th.cur for th in state.threads if th.cur}
        here |= {f"{w.wait}/{w.name}" for th in state.threads for w in th.waits}
        return frozenset(here)

    def list(
        self,
        workflow: str,
        *,
        status: str | None = None,
        position: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of instances: ``{"items": [...], "next_cursor": ...}``."""
        self.registry.get(workflow)
        page: Page = self.store.list(
            workflow, status=status, position=position, limit=limit, cursor=cursor
        )
        return {
            "items": [
                {
                    "id": d.id,
                    "status": d.status,
                    "waiting": d.waiting,
                    "positions": d.positions,
                    "updated_at": d.updated_at.isoformat(),
                }
                for d in page.items
            ],
            "next_cursor": page.next_cursor,
        }

    def send(
        self,
        workflow: str,
        id: str,
        event: str,
        input: Any,
        *,
        thread_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Any, bool]:
        """Deliver ``event``, resume, and return ``(handler output, replayed)``.

        With an ``idempotency_key`` seen before, nothing is applied and the first response
        comes back with ``replayed`` True.
        """
        cls = self.registry.get(workflow)
        if event in self.registry.timer_events(cls):
            raise UnknownEvent(id, event)  # a Timeout fires by itself, never over HTTP

        request = fingerprint(event, input, thread_id) if idempotency_key is not None else ""

        def fn(doc: InstanceDoc | None, ctx: TxContext) -> tuple[Change | None, tuple[Any, bool]]:
            if doc is None:
                raise InstanceNotFound(workflow, id)
            if idempotency_key is not None:
                kept = doc.recall(idempotency_key)
                if kept is not None:
                    # (a response kept before fingerprints existed has none: its event decides)
                    if kept.event != event or kept.request not in ("", request):
                        raise IdempotencyKeyReused(id, idempotency_key, kept.event, event)
                    return None, (json.loads(kept.body), True)
            wf, state = self.load(cls, doc)
            pc = state.pc
            output = handle_event(wf, state, event, input, thread_id=thread_id, ctx=ctx)
            body = jsonable(output, id, event)
            self.advance(cls, wf, state, ctx)
            change = self.change(doc, wf, state, ctx, "event", event, input, body, pc)
            if idempotency_key is not None and change.doc is not None:
                change.doc.remember(idempotency_key, event, request, json.dumps(body))
                if not change.doc.fit(MAX_DOCUMENT_BYTES):
                    raise InstanceTooLarge(id, change.doc.size(), MAX_DOCUMENT_BYTES)
            return change, (body, False)

        result = self.mutate(workflow, id, fn)
        self.drive(cls, workflow, id)
        return result

    def run_task(self, payload: TaskPayload) -> str:
        """Carry out a task; returns ``applied``, ``stale`` or ``rescheduled``."""
        try:
            cls = self.registry.get(payload.workflow)
        except UnknownWorkflow:
            # Nothing to do for an instance that is gone; a live one of a workflow this
            # deployment lacks keeps its task retried (a fixed deployment picks it up).
            if self.store.get(payload.workflow, payload.id) is None:
                return "stale"
            raise
        now = self.clock()
        if payload.kind is not TaskKind.RESUME and payload.due is not None and payload.due > now:
            # A hop of a timer or retry due beyond Cloud Tasks' horizon: go on only while it
            # is still pending.
            doc = self.store.get(payload.workflow, payload.id)
            if doc is None or not still_pending(doc, payload):
                return "stale"
            hop = payload.model_copy(update={"hop": payload.hop + 1})
            self.schedule(f"{base_name(payload)}-hop{hop.hop}", hop, now)
            return "rescheduled"

        def fn(doc: InstanceDoc | None, ctx: TxContext) -> tuple[Change | None, str]:
            if doc is None:
                return None, "stale"
            wf, state = self.load(cls, doc)
            pc = state.pc
            if not self._task_applies(payload, wf, state, ctx):
                return None, "stale"
            retry = payload.thread if payload.kind is TaskKind.RETRY else None
            self.advance(cls, wf, state, ctx, retry=retry)
            name = payload.event or payload.step
            change = self.change(doc, wf, state, ctx, payload.kind.value, name, None, None, pc)
            return change, "applied"

        outcome = self.mutate(payload.workflow, payload.id, fn)
        self.drive(cls, payload.workflow, payload.id)
        return outcome

    # -- building blocks ------------------------------------------------------------------

    def schedule(self, name: str, payload: TaskPayload, now: datetime) -> None:
        """Enqueue a task now (Cloud Tasks' horizon caps how far ahead; timers chain hops)."""
        eta = payload.due if payload.due is not None else now
        eta = min(eta, now + MAX_SCHEDULE_AHEAD)
        self.scheduler.enqueue(TaskSpec(name=name, eta=eta, payload=payload))

    def _task_applies(self, p: TaskPayload, wf: Workflow, state: State, ctx: TxContext) -> bool:
        if state.status is WorkflowStatus.FINISHED:
            return False
        if p.kind is TaskKind.TIMER:
            try:
                handle_event(wf, state, p.event, None, thread_id=p.thread, pc=p.pc, ctx=ctx)
            except STALE_EVENT_ERRORS:
                return False
            return True
        if p.kind is TaskKind.RETRY:
            return retry_due(state, p)
        return can_continue(state)

    def drive(self, cls: type[Workflow], workflow: str, id: str) -> bool:
        """Checkpoint-per-step workflows: go on, one commit per move, while they can move.

        Returns whether it did anything. (Other workflows resume fully in one commit.)
        """
        if not getattr(cls, "checkpoint_every_step", False):
            return False

        def fn(doc: InstanceDoc | None, ctx: TxContext) -> tuple[Change | None, bool]:
            if doc is None:
                return None, False
            wf, state = self.load(cls, doc)
            pc = state.pc
            if not can_continue(state):
                return None, False
            self.advance(cls, wf, state, ctx)
            return self.change(doc, wf, state, ctx, "resume", "", None, None, pc), True

        moved = False
        for _ in range(self.moves_per_request):
            if not self.mutate(workflow, id, fn):
                break
            moved = True
        return moved

    def mutate(
        self,
        workflow: str,
        id: str,
        fn: Callable[[InstanceDoc | None, TxContext], tuple[Change | None, R]],
    ) -> R:
        """Run ``fn`` in one store transaction under the instance's process lock, then the
        work it left for after the commit (timer deletions, best effort)."""
        last: list[TxContext] = []

        def attempt(doc: InstanceDoc | None) -> tuple[Change | None, R]:
            ctx = TxContext(workflow, self.clock(), self.schedule, self.scheduler.cancel)
            last[:] = [ctx]
            return fn(doc, ctx)

        with self._locks.hold(f"{workflow}/{id}"):
            result = self.store.transact(workflow, id, attempt)
        for action in last[0].after_commit if last else ():
            try:
                action()
            except Exception as e:  # best effort: a stale timer is ignored when it fires
                log("WARNING", "after-commit action failed", workflow=workflow, id=id, error=str(e))
        return result

    def load(self, cls: type[Workflow], doc: InstanceDoc) -> tuple[Workflow, State]:
        """The stored data and engine state of ``doc``."""
        try:
            return cls.model_validate_json(doc.data), State.model_validate_json(doc.state)
        except ValidationError as e:
            raise InvalidState(doc.id, f"stored document does not parse: {e}") from e

    def advance(
        self,
        cls: type[Workflow],
        wf: Workflow,
        state: State,
        ctx: TxContext,
        retry: str | None = None,
    ) -> None:
        """Resume within the request budget; schedule retries and a continuation as needed.

        A failed step runs again only through its retry task (``retry``: its thread id);
        other requests move the other threads and leave it to its backoff and retry policy.
        """
        checkpoint = bool(getattr(cls, "checkpoint_every_step", False))
        budget = 1 if checkpoint else self.moves_per_request
        deadline = time.monotonic() + self.seconds_per_request
        failed_now: tuple[str, ...] = ()
        try:
            resume(
                wf,
                state,
                ctx,
                budget=budget,
                out_of_time=lambda: time.monotonic() > deadline,
                hold_failed=True,
                retry=retry,
            )
        except StepFailed as e:
            failed_now = e.threads
        if state.status is WorkflowStatus.FINISHED:
            return
        for tid in failed_now:
            th = state.thread(tid)
            if th is not None:
                self._schedule_retry(cls, state, th, ctx)
        failed = [t for t in state.threads if t.attempts]
        exhausted = [
            t for t in failed if t.attempts >= self.registry.retry_policy(cls, t.cur).max_attempts
        ]
        if exhausted:  # Failed once a step is past its policy, and the error says which
            t = exhausted[0]
            state.status = WorkflowStatus.FAILED
            state.error = StepFailed(state.id, t.cur, t.error, t.attempts, t.id).message
        elif failed:  # their retries are on their way
            state.status = WorkflowStatus.RESUMING
        if can_continue(state):
            delay = CHECKPOINT_RESUME_DELAY if checkpoint else timedelta(0)
            payload = TaskPayload(
                kind=TaskKind.RESUME,
                workflow=state.workflow,
                id=state.id,
                pc=state.pc,
                due=ctx.now + delay,
            )
            self.schedule(base_name(payload), payload, ctx.now)

    def _schedule_retry(
        self, cls: type[Workflow], state: State, th: Thread, ctx: TxContext
    ) -> None:
        """A thread's step failed in this request: log it, and retry it after its backoff
        unless it is past its policy."""
        policy = self.registry.retry_policy(cls, th.cur)
        log(
            "WARNING",
            "step failed",
            workflow=state.workflow,
            id=state.id,
            thread=th.id,
            step=th.cur,
            attempt=th.attempts,
            error=th.error,
        )
        if th.attempts >= policy.max_attempts:
            return
        payload = TaskPayload(
            kind=TaskKind.RETRY,
            workflow=state.workflow,
            id=state.id,
            pc=th.pc,
            thread=th.id,
            step=th.cur,
            attempt=th.attempts,
            due=ctx.now + timedelta(seconds=policy.backoff(th.attempts)),
        )
        self.schedule(base_name(payload), payload, ctx.now)

    def change(
        self,
        old: InstanceDoc | None,
        wf: Workflow,
        state: State,
        ctx: TxContext,
        kind: str,
        name: str,
        input: Any,
        output: Any,
        pc_before: int,
        *,
        record: bool | None = None,
        actor: str = "",
    ) -> Change:
        """The new document, and its history entry when history is kept (or ``record``)."""
        doc = self._document(old, state.workflow, wf, state, ctx.now)
        try:  # a value JSON cannot carry (e.g. NaN) would be stored as null and break the data
            type(wf).model_validate_json(doc.data)
        except ValidationError as e:
            errors = e.errors(include_url=False, include_context=False, include_input=False)
            raise InvalidData(state.workflow, [dict(x) for x in errors]) from e
        if not doc.fit(MAX_DOCUMENT_BYTES):
            raise InstanceTooLarge(state.id, doc.size(), MAX_DOCUMENT_BYTES)
        if not (self.keep_history if record is None else record):
            return Change(doc)
        doc.history_seq += 1
        entry = HistoryEntry(
            seq=doc.history_seq,
            at=ctx.now,
            kind=kind,
            name=name,
            input=json.dumps(to_jsonable_python(input, fallback=str)),
            output=json.dumps(to_jsonable_python(output, fallback=str)),
            moves=state.pc - pc_before,
            status=state.status.value,
            error=state.error,
            actor=actor,
            expires_at=ctx.now + self.history_retention,
        )
        return Change(doc, (entry,))

    def _document(
        self,
        old: InstanceDoc | None,
        workflow: str,
        wf: Workflow,
        state: State,
        now: datetime,
    ) -> InstanceDoc:
        positions: list[str] = []
        waiting: list[str] = []
        for th in state.threads:
            for name in (th.name, th.cur):
                if name and name not in positions:
                    positions.append(name)
            for w in th.waits:
                if w.status is WaitStatus.WAITING:
                    waiting.append(w.name)
                    if w.name not in positions:
                        positions.append(w.name)
        return InstanceDoc(
            workflow=workflow,
            id=state.id,
            status=state.status.value,
            state=state.model_dump_json(),
            data=wf.model_dump_json(),
            waiting=waiting,
            positions=positions,
            idempotency=list(old.idempotency) if old is not None else [],
            history_seq=old.history_seq if old is not None else 0,
            created_at=old.created_at if old is not None else now,
            updated_at=now,
            expires_at=now + self.retention if state.status is WorkflowStatus.FINISHED else None,
        )
