"""Test your workflows fast: the real runtime on an in-memory store, scheduler and clock.

    from engine.testing import Harness
    h = Harness()                      # serves the default registry
    h.create("pizza", "o1", {})
    h.send("pizza", "o1", "add", {"name": "margherita", "qty": 1})
    h.advance(24 * 3600)               # due timers fire, in order
    assert h.get("pizza", "o1")["meta"]["status"] == "Finished"

Documents and task bodies go through the same JSON serialisation as in production.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from engine.errors import Contention
from engine.registry import Registry
from engine.runtime import Service
from engine.scheduler import TaskPayload, TaskSpec
from engine.store import HistoryEntry, HistoryPage, InstanceDoc, Mutation, Page

T = TypeVar("T")


class Clock:
    """A controllable clock (timezone-aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 1, tzinfo=UTC)
        """The current time."""

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)


class MemoryStore:
    """A :class:`engine.store.Store` in a dict, with optimistic transactions."""

    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], str] = {}
        self._history: dict[tuple[str, str], dict[int, str]] = {}
        self._mu = threading.Lock()
        self.reads = 0
        """Document reads so far."""
        self.writes = 0
        """Document writes so far (history entries included)."""

    def transact(self, workflow: str, id: str, fn: Mutation[T]) -> T:
        key = (workflow, id)
        for _ in range(50):
            with self._mu:
                raw = self._docs.get(key)
                self.reads += 1
            doc = InstanceDoc.model_validate_json(raw) if raw is not None else None
            change, result = fn(doc)
            if change is None:
                return result
            with self._mu:
                if self._docs.get(key) != raw:
                    continue  # someone else committed first: run again on the new version
                if change.delete:
                    self._docs.pop(key, None)
                    self._history.pop(key, None)
                elif change.doc is not None:
                    self._docs[key] = change.doc.model_dump_json()
                self.writes += 1
                for entry in change.history:
                    self._history.setdefault(key, {})[entry.seq] = entry.model_dump_json()
                    self.writes += 1
            return result
        raise Contention(workflow, id, 50)

    def history(
        self, workflow: str, id: str, *, after: int = 0, upto: int, limit: int = 50
    ) -> HistoryPage:
        with self._mu:
            kept = dict(self._history.get((workflow, id), {}))
        entries = [
            HistoryEntry.model_validate_json(kept[s]) for s in sorted(kept) if after < s <= upto
        ]
        return HistoryPage.of(entries, limit)

    def get(self, workflow: str, id: str) -> InstanceDoc | None:
        with self._mu:
            raw = self._docs.get((workflow, id))
            self.reads += 1
        return InstanceDoc.model_validate_json(raw) if raw is not None else None

    def list(
        self,
        workflow: str,
        *,
        status: str | None = None,
        position: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        with self._mu:
            docs = [
                InstanceDoc.model_validate_json(raw)
                for (w, _), raw in sorted(self._docs.items())
                if w == workflow
            ]
        docs = [
            d
            for d in docs
            if (status is None or d.status == status)
            and (position is None or position in d.positions)
            and (cursor is None or d.id > cursor)
        ]
        return Page.of(docs, limit)


@dataclass
class MemoryScheduler:
    """A :class:`engine.scheduler.Scheduler` that keeps tasks until you run them."""

    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    """Pending tasks by name."""
    created: list[str] = field(default_factory=list)
    """Every task name ever created, in order (duplicates are not created twice)."""
    cancelled: list[str] = field(default_factory=list)
    """Names passed to ``cancel``."""

    def enqueue(self, task: TaskSpec) -> None:
        if task.name in self.created:
            return
        self.created.append(task.name)
        # The body travels as JSON, as it would through Cloud Tasks.
        payload = TaskPayload.model_validate_json(task.payload.model_dump_json())
        self.tasks[task.name] = TaskSpec(task.name, task.eta, payload)

    def cancel(self, name: str) -> None:
        self.cancelled.append(name)
        self.tasks.pop(name, None)

    def due(self, now: datetime) -> list[TaskSpec]:
        """Tasks due at ``now``, earliest first."""
        return sorted((t for t in self.tasks.values() if t.eta <= now), key=lambda t: t.eta)


class Harness:
    """The runtime service on memory, with a clock you move by hand."""

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        start: datetime | None = None,
        store: MemoryStore | None = None,
        scheduler: MemoryScheduler | None = None,
    ) -> None:
        self.clock = Clock(start)
        """The controllable clock."""
        self.store = store or MemoryStore()
        """The in-memory store (pass a subclass to inject failures)."""
        self.scheduler = scheduler or MemoryScheduler()
        """The in-memory scheduler (pass a subclass to inject failures)."""
        self.service = Service(self.store, self.scheduler, registry, clock=self.clock)
        """The real runtime service."""
        self.outcomes: list[tuple[str, str]] = []
        """(task name, outcome) of every task run so far."""

    def create(self, workflow: str, id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create an instance (see :meth:`Service.create`)."""
        return self.service.create(workflow, id, data)

    def send(self, workflow: str, id: str, event: str, input: Any = None, **kw: Any) -> Any:
        """Deliver an event and return the handler's output."""
        output, _ = self.service.send(workflow, id, event, input, **kw)
        return output

    def get(self, workflow: str, id: str) -> dict[str, Any]:
        """The instance's view."""
        return self.service.get(workflow, id)

    def history(self, workflow: str, id: str, *, after: int = 0, limit: int = 50) -> HistoryPage:
        """A page of the instance's history, oldest first."""
        return self.service.history(workflow, id, after=after, limit=limit)

    def run_due(self) -> int:
        """Run every task due now (and those they make due now); returns how many ran."""
        ran = 0
        while True:
            due = self.scheduler.due(self.clock.now)
            if not due:
                return ran
            task = due[0]
            del self.scheduler.tasks[task.name]
            self.outcomes.append((task.name, self.service.run_task(task.payload)))
            ran += 1

    def advance(self, seconds: float) -> int:
        """Move time forward, firing due tasks in order at their own times."""
        end = self.clock.now + timedelta(seconds=seconds)
        ran = self.run_due()
        while True:
            pending = [t for t in self.scheduler.tasks.values() if t.eta <= end]
            if not pending:
                break
            self.clock.now = max(self.clock.now, min(t.eta for t in pending))
            ran += self.run_due()
        self.clock.now = end
        return ran
